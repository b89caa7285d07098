//go:build amd64 && !purego

#include "textflag.h"

// func dot4x3(x *float32, xs int, w *float32, ws int, n int, d *[12]float32)
//
// d[3r+c] = sum over k < n of x[r*xs+k] * w[c*ws+k], for r < 4 and c < 3;
// n is a multiple of 8. Y0..Y11 hold the twelve sums, eight lanes each, Y12..
// Y14 the three w vectors of a step and Y15 the x vector in use.
TEXT ·dot4x3(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ xs+8(FP), BX
	MOVQ w+16(FP), DI
	MOVQ ws+24(FP), DX
	MOVQ n+32(FP), CX
	SHLQ $2, BX
	SHLQ $2, DX
	SHLQ $2, CX
	LEAQ (SI)(BX*1), R8  // x row 1
	LEAQ (R8)(BX*1), R9  // x row 2
	LEAQ (R9)(BX*1), R10 // x row 3
	LEAQ (DI)(DX*1), R11 // w row 1
	LEAQ (R11)(DX*1), R12 // w row 2
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	XORQ AX, AX

loop:
	CMPQ AX, CX
	JGE  sum
	VMOVUPS (DI)(AX*1), Y12
	VMOVUPS (R11)(AX*1), Y13
	VMOVUPS (R12)(AX*1), Y14
	VMOVUPS (SI)(AX*1), Y15
	VFMADD231PS Y12, Y15, Y0
	VFMADD231PS Y13, Y15, Y1
	VFMADD231PS Y14, Y15, Y2
	VMOVUPS (R8)(AX*1), Y15
	VFMADD231PS Y12, Y15, Y3
	VFMADD231PS Y13, Y15, Y4
	VFMADD231PS Y14, Y15, Y5
	VMOVUPS (R9)(AX*1), Y15
	VFMADD231PS Y12, Y15, Y6
	VFMADD231PS Y13, Y15, Y7
	VFMADD231PS Y14, Y15, Y8
	VMOVUPS (R10)(AX*1), Y15
	VFMADD231PS Y12, Y15, Y9
	VFMADD231PS Y13, Y15, Y10
	VFMADD231PS Y14, Y15, Y11
	ADDQ $32, AX
	JMP  loop

sum:
	// Four sums of eight lanes become one vector of four: two rounds of
	// pairwise adds within each 128-bit half, then the halves added.
	MOVQ d+40(FP), AX
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVUPS X0, (AX)
	VHADDPS Y5, Y4, Y4
	VHADDPS Y7, Y6, Y6
	VHADDPS Y6, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VADDPS X5, X4, X4
	VMOVUPS X4, 16(AX)
	VHADDPS Y9, Y8, Y8
	VHADDPS Y11, Y10, Y10
	VHADDPS Y10, Y8, Y8
	VEXTRACTF128 $1, Y8, X9
	VADDPS X9, X8, X8
	VMOVUPS X8, 32(AX)
	VZEROUPPER
	RET

// The constants of expAVX, those of exp32 (bert.go).
DATA expc<>+0(SB)/4, $0x3fb8aa3b  // log2(e)
DATA expc<>+4(SB)/4, $0x3f318000  // ln 2, high part
DATA expc<>+8(SB)/4, $0xb95e8083  // ln 2, low part
DATA expc<>+12(SB)/4, $0x39506967 // the polynomial, highest degree first
DATA expc<>+16(SB)/4, $0x3ab743ce
DATA expc<>+20(SB)/4, $0x3c088908
DATA expc<>+24(SB)/4, $0x3d2aa9c1
DATA expc<>+28(SB)/4, $0x3e2aaaaa
DATA expc<>+32(SB)/4, $0x3f000000
DATA expc<>+36(SB)/4, $0x3f800000 // 1
DATA expc<>+40(SB)/4, $0xc2ae999a // -87.3
GLOBL expc<>(SB), RODATA|NOPTR, $44

// func expAVX(x *float32, n int)
//
// x[i] = e^x[i] for i < n, n a multiple of 8 and above 0, x[i] ≤ 0: exp32
// eight lanes at a time, with fused multiply-adds; 0 below -87.3.
TEXT ·expAVX(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX

exploop:
	VMOVUPS (SI), Y0
	VBROADCASTSS expc<>+40(SB), Y1
	VCMPPS $0x0d, Y1, Y0, Y7 // x ≥ -87.3, false for NaN
	VBROADCASTSS expc<>+0(SB), Y1
	VMULPS Y1, Y0, Y1
	VROUNDPS $0, Y1, Y1 // k, to nearest
	VBROADCASTSS expc<>+4(SB), Y2
	VFNMADD231PS Y2, Y1, Y0 // r = x - k·ln 2
	VBROADCASTSS expc<>+8(SB), Y2
	VFNMADD231PS Y2, Y1, Y0
	VBROADCASTSS expc<>+12(SB), Y3
	VBROADCASTSS expc<>+16(SB), Y4
	VFMADD213PS Y4, Y0, Y3
	VBROADCASTSS expc<>+20(SB), Y4
	VFMADD213PS Y4, Y0, Y3
	VBROADCASTSS expc<>+24(SB), Y4
	VFMADD213PS Y4, Y0, Y3
	VBROADCASTSS expc<>+28(SB), Y4
	VFMADD213PS Y4, Y0, Y3
	VBROADCASTSS expc<>+32(SB), Y4
	VFMADD213PS Y4, Y0, Y3
	VMULPS Y0, Y0, Y4
	VFMADD213PS Y0, Y4, Y3 // y·r² + r
	VBROADCASTSS expc<>+36(SB), Y4
	VADDPS Y4, Y3, Y3
	VCVTPS2DQ Y1, Y1
	VPSLLD $23, Y1, Y1
	VPADDD Y4, Y1, Y1 // 2^k: k+127 in the exponent bits
	VMULPS Y1, Y3, Y3
	VANDPS Y7, Y3, Y3
	VMOVUPS Y3, (SI)
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ  exploop
	VZEROUPPER
	RET

// The constants of geluAVX, those of gelu (bert.go).
DATA geluc<>+0(SB)/4, $0x7fffffff  // |x| mask
DATA geluc<>+4(SB)/4, $0x3f3504f3  // 1/√2
DATA geluc<>+8(SB)/4, $0x3ea7ba05  // p
DATA geluc<>+12(SB)/4, $0x3f87dc22 // a5
DATA geluc<>+16(SB)/4, $0xbfba00e3 // a4
DATA geluc<>+20(SB)/4, $0x3fb5f0e3 // a3
DATA geluc<>+24(SB)/4, $0xbe91a98e // a2
DATA geluc<>+28(SB)/4, $0x3e827906 // a1
DATA geluc<>+32(SB)/4, $0x40000000 // 2
DATA geluc<>+36(SB)/4, $0x3f000000 // 0.5
GLOBL geluc<>(SB), RODATA|NOPTR, $40

// func geluAVX(x *float32, n int)
//
// x[i] = gelu(x[i]) for i < n, n a multiple of 8 and above 0: gelu's
// arithmetic eight lanes at a time, with exp(-z²) as expAVX computes it.
TEXT ·geluAVX(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX

geluloop:
	VMOVUPS (SI), Y0 // v
	VBROADCASTSS geluc<>+0(SB), Y1
	VANDPS Y1, Y0, Y1
	VBROADCASTSS geluc<>+4(SB), Y2
	VMULPS Y2, Y1, Y1 // z = |v|/√2
	VXORPS Y2, Y2, Y2
	VFNMADD231PS Y1, Y1, Y2 // -z²

	// Y3 = exp(Y2), as in expAVX.
	VBROADCASTSS expc<>+40(SB), Y4
	VCMPPS $0x0d, Y4, Y2, Y7
	VBROADCASTSS expc<>+0(SB), Y4
	VMULPS Y4, Y2, Y4
	VROUNDPS $0, Y4, Y4
	VBROADCASTSS expc<>+4(SB), Y5
	VFNMADD231PS Y5, Y4, Y2
	VBROADCASTSS expc<>+8(SB), Y5
	VFNMADD231PS Y5, Y4, Y2
	VBROADCASTSS expc<>+12(SB), Y3
	VBROADCASTSS expc<>+16(SB), Y5
	VFMADD213PS Y5, Y2, Y3
	VBROADCASTSS expc<>+20(SB), Y5
	VFMADD213PS Y5, Y2, Y3
	VBROADCASTSS expc<>+24(SB), Y5
	VFMADD213PS Y5, Y2, Y3
	VBROADCASTSS expc<>+28(SB), Y5
	VFMADD213PS Y5, Y2, Y3
	VBROADCASTSS expc<>+32(SB), Y5
	VFMADD213PS Y5, Y2, Y3
	VMULPS Y2, Y2, Y5
	VFMADD213PS Y2, Y5, Y3
	VBROADCASTSS expc<>+36(SB), Y5
	VADDPS Y5, Y3, Y3
	VCVTPS2DQ Y4, Y4
	VPSLLD $23, Y4, Y4
	VPADDD Y5, Y4, Y4
	VMULPS Y4, Y3, Y3
	VANDPS Y7, Y3, Y3

	// t = 1/(1 + p·z); Y5 still holds 1.
	VBROADCASTSS geluc<>+8(SB), Y6
	VFMADD213PS Y5, Y1, Y6
	VDIVPS Y6, Y5, Y6
	// q = ((((a5·t + a4)·t + a3)·t + a2)·t + a1)·t·exp(-z²) = 1 - erf(z)
	VBROADCASTSS geluc<>+12(SB), Y8
	VBROADCASTSS geluc<>+16(SB), Y9
	VFMADD213PS Y9, Y6, Y8
	VBROADCASTSS geluc<>+20(SB), Y9
	VFMADD213PS Y9, Y6, Y8
	VBROADCASTSS geluc<>+24(SB), Y9
	VFMADD213PS Y9, Y6, Y8
	VBROADCASTSS geluc<>+28(SB), Y9
	VFMADD213PS Y9, Y6, Y8
	VMULPS Y6, Y8, Y8
	VMULPS Y3, Y8, Y8
	// 2 - q where v ≥ 0.
	VBROADCASTSS geluc<>+32(SB), Y9
	VSUBPS Y8, Y9, Y9
	VXORPS Y10, Y10, Y10
	VCMPPS $0x0d, Y10, Y0, Y10
	VBLENDVPS Y10, Y9, Y8, Y8
	// 0.5·v·q
	VBROADCASTSS geluc<>+36(SB), Y9
	VMULPS Y9, Y0, Y0
	VMULPS Y8, Y0, Y0
	VMOVUPS Y0, (SI)
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ  geluloop
	VZEROUPPER
	RET
