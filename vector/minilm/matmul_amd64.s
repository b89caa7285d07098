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
