// Package browser drives a real headless Chromium from tests, with
// chromedp: a Browser per test, a Page per tab, and waits that poll a
// condition in the page until it holds or the time is up, never a sleep.
//
//	b := browser.New(t)                  // fails the test if there is no chromium
//	p := b.NewPage()
//	p.Navigate(srv.URL + "/admin#token=" + tok)
//	p.WaitText("#state", "live")
//	p.WaitCount("#alerts li", 1)
//	p.Screenshot("admin")                // into t.ArtifactDir()
//
// Every method of Page fails the test (t.Fatalf) when the browser does not
// do what it asks in time, and a page of a failed test is captured, as
// "<page name>-failed.png", with its console in the test's log. A Page is
// for the test's goroutine.
package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// DefaultTimeout bounds each action and wait of a Page, unless the test's
// deadline comes first.
const DefaultTimeout = 20 * time.Second

// installHint is what to do when there is no browser.
const installHint = `run "make up" (go run ./cmd/cassandraorm dev up --with kafka), which installs chromium, or apt-get install chromium fonts-dejavu-core`

// Option configures New.
type Option func(*config)

type config struct {
	execPath string
	timeout  time.Duration
}

// ExecPath runs the browser at path instead of the first of "chromium" and
// "chromium-browser" found on PATH (or /usr/bin/chromium).
func ExecPath(path string) Option { return func(c *config) { c.execPath = path } }

// Timeout bounds each action and wait of the browser's pages. Default
// DefaultTimeout.
func Timeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// Browser is a headless Chromium process for one test, closed when the test
// ends.
type Browser struct {
	t       testing.TB
	ctx     context.Context // the browser's first tab, which keeps it alive
	timeout time.Duration
	pages   int
}

// FindChromium returns the path of the chromium binary: path if it is not
// empty, else the first of "chromium" and "chromium-browser" on PATH, else
// /usr/bin/chromium. Its error says how to install one.
func FindChromium(path string) (string, error) {
	candidates := []string{path}
	if path == "" {
		candidates = []string{"chromium", "chromium-browser", "/usr/bin/chromium"}
	}
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("browser: no chromium binary found (looked for %s): %s", strings.Join(candidates, ", "), installHint)
}

// New starts a headless Chromium for t, closed in t.Cleanup. It fails t
// (never skips it) when no chromium binary is found or the browser does not
// start; the message says how to install it.
func New(t testing.TB, opts ...Option) *Browser {
	t.Helper()
	cfg := config{timeout: DefaultTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	path, err := FindChromium(cfg.execPath)
	if err != nil {
		t.Fatal(err)
	}
	allocOpts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.WindowSize(1024, 768),
		// Tests run as root in containers, where the sandbox cannot start.
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	// The browser outlives t.Context, which ends before the cleanups: the
	// cleanup of a failed page still takes its screenshot.
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), allocOpts...)
	log := &testLog{t: t}
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithLogf(log.printf), chromedp.WithErrorf(log.printf))
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		log.stop()
	})
	// The first Run starts the process and lives as long as its context, so
	// that context cannot carry the timeout: the wait for it does.
	done := make(chan error, 1)
	go func() { done <- chromedp.Do(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("browser: start %s: %v (%s)", path, err, installHint)
		}
	case <-time.After(cfg.timeout):
		t.Fatalf("browser: %s did not start within %v", path, cfg.timeout)
	}
	return &Browser{t: t, ctx: ctx, timeout: cfg.timeout}
}

// testLog is chromedp's log into the test's, until stop: a browser's
// goroutines may still report something after the test has ended, when
// t.Logf would panic.
type testLog struct {
	t       testing.TB
	mu      sync.Mutex
	stopped bool
}

func (l *testLog) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped {
		l.t.Logf("chromedp: "+format, args...)
	}
}

func (l *testLog) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
}

// Page is a browser tab.
type Page struct {
	t       testing.TB
	name    string
	ctx     context.Context
	timeout time.Duration

	mu      sync.Mutex
	console []string
	grew    chan struct{} // closed, and replaced, when console grows
}

// NewPage opens a tab, closed when the test ends. If the test has failed by
// then, the tab is first captured as "<name>-failed.png" in
// t.ArtifactDir() and its console is written to the test's log. Pages are
// named page1, page2, ... in the order they are opened.
func (b *Browser) NewPage() *Page {
	b.t.Helper()
	b.pages++
	ctx, cancel := chromedp.NewContext(b.ctx)
	p := &Page{t: b.t, name: fmt.Sprintf("page%d", b.pages), ctx: ctx, timeout: b.timeout, grew: make(chan struct{})}
	messages := chromedp.Console(ctx) // subscribes now, and opens the tab
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.console = append(p.console, m.String())
			close(p.grew)
			p.grew = make(chan struct{})
			p.mu.Unlock()
		}
	}()
	b.t.Cleanup(func() {
		if b.t.Failed() {
			p.capture(p.name + "-failed")
			for _, m := range p.Console() {
				b.t.Logf("%s console: %s", p.name, m)
			}
		}
		cancel()
		<-done
	})
	return p
}

// Name is the page's name: the prefix of its failure screenshot.
func (p *Page) Name() string { return p.name }

// SetName renames the page (for its failure screenshot).
func (p *Page) SetName(name string) { p.name = name }

// bound returns a context of one action: the page's timeout, or less if
// the test's deadline comes first.
func (p *Page) bound() (context.Context, context.CancelFunc) {
	d := p.timeout
	if dt, ok := p.t.(interface{ Deadline() (time.Time, bool) }); ok {
		if end, ok := dt.Deadline(); ok {
			// Leave the test a moment to report and clean up.
			d = min(d, time.Until(end)-2*time.Second)
		}
	}
	return context.WithTimeout(p.ctx, max(d, time.Millisecond))
}

// Navigate loads url and waits for its load event.
func (p *Page) Navigate(url string) {
	p.t.Helper()
	ctx, cancel := p.bound()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		p.t.Fatalf("%s: navigate to %s: %v", p.name, url, err)
	}
}

// Eval evaluates the JavaScript expression js in the page and decodes its
// value, as JSON, into out, unless out is nil.
func (p *Page) Eval(js string, out any) {
	p.t.Helper()
	v, err := eval[json.RawMessage](p, js)
	if err == nil && out != nil {
		err = json.Unmarshal(v, out)
	}
	if err != nil {
		p.t.Fatalf("%s: eval %s: %v", p.name, js, err)
	}
}

// evalAs evaluates js and returns its value as a T, failing the test on
// error.
func evalAs[T any](p *Page, js string) T {
	p.t.Helper()
	v, err := eval[T](p, js)
	if err != nil {
		p.t.Fatalf("%s: eval %s: %v", p.name, js, err)
	}
	return v
}

func eval[T any](p *Page, js string) (T, error) {
	ctx, cancel := p.bound()
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](js))
}

// poll waits until the expression js is truthy in the page, or fails the
// test with what it waited for and what describe (another expression)
// says of the page then.
func (p *Page) poll(what, js, describe string) {
	p.t.Helper()
	ctx, cancel := p.bound()
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingInterval(25*time.Millisecond), chromedp.WithPollingTimeout(0)))
	if err == nil {
		return
	}
	now := "(unknown)"
	if v, derr := eval[json.RawMessage](p, describe); derr == nil {
		now = string(v)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("not so within %v", p.timeout)
	}
	p.t.Fatalf("%s: wait for %s: %v; now %s", p.name, what, err, now)
}

// quote quotes s as a JavaScript string.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// WaitFor waits until an element matches the CSS selector sel.
func (p *Page) WaitFor(sel string) {
	p.t.Helper()
	p.poll(sel, fmt.Sprintf("document.querySelector(%s) !== null", quote(sel)),
		"document.body ? document.body.innerText.slice(0, 500) : null")
}

// WaitText waits until the first element matching sel has the text text
// (its textContent, trimmed).
func (p *Page) WaitText(sel, text string) {
	p.t.Helper()
	first := fmt.Sprintf("document.querySelector(%s)", quote(sel))
	p.poll(fmt.Sprintf("%s to read %q", sel, text),
		fmt.Sprintf("(%s?.textContent ?? '').trim() === %s", first, quote(text)),
		fmt.Sprintf("%s?.textContent ?? null", first))
}

// WaitCount waits until exactly n elements match sel.
func (p *Page) WaitCount(sel string, n int) {
	p.t.Helper()
	count := fmt.Sprintf("document.querySelectorAll(%s).length", quote(sel))
	p.poll(fmt.Sprintf("%d of %s", n, sel), fmt.Sprintf("%s === %d", count, n), count)
}

// Text returns the trimmed text of the first element matching sel, failing
// the test if there is none.
func (p *Page) Text(sel string) string {
	p.t.Helper()
	v := evalAs[*string](p, fmt.Sprintf("document.querySelector(%s)?.textContent.trim() ?? null", quote(sel)))
	if v == nil {
		p.t.Fatalf("%s: no element matches %s", p.name, sel)
	}
	return *v
}

// Texts returns the trimmed texts of the elements matching sel, in document
// order.
func (p *Page) Texts(sel string) []string {
	p.t.Helper()
	return evalAs[[]string](p, fmt.Sprintf("Array.from(document.querySelectorAll(%s), e => e.textContent.trim())", quote(sel)))
}

// Attrs returns the attribute attr of the elements matching sel, in
// document order ("" where it is not set).
func (p *Page) Attrs(sel, attr string) []string {
	p.t.Helper()
	return evalAs[[]string](p, fmt.Sprintf("Array.from(document.querySelectorAll(%s), e => e.getAttribute(%s) ?? '')", quote(sel), quote(attr)))
}

// Count returns how many elements match sel.
func (p *Page) Count(sel string) int {
	p.t.Helper()
	return evalAs[int](p, fmt.Sprintf("document.querySelectorAll(%s).length", quote(sel)))
}

// Console returns the messages the page wrote to its console so far (the
// console API's calls, uncaught exceptions, the browser's log entries such
// as a refused connection or a CSP violation), in order.
func (p *Page) Console() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.console...)
}

// WaitConsole waits until a console message of the page contains substr,
// and returns it.
func (p *Page) WaitConsole(substr string) string {
	p.t.Helper()
	ctx, cancel := p.bound()
	defer cancel()
	for {
		p.mu.Lock()
		msgs, grew := p.console, p.grew
		p.mu.Unlock()
		for _, m := range msgs {
			if strings.Contains(m, substr) {
				return m
			}
		}
		select {
		case <-grew:
		case <-ctx.Done():
			p.t.Fatalf("%s: no console message contains %q within %v; console: %q", p.name, substr, p.timeout, msgs)
		}
	}
}

// Screenshot writes the page's viewport as name+".png" in t.ArtifactDir()
// (kept with go test -artifacts -outputdir DIR) and returns its path.
func (p *Page) Screenshot(name string) string {
	p.t.Helper()
	path, err := p.screenshot(name)
	if err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
	return path
}

// capture is Screenshot for a cleanup: it logs its failure.
func (p *Page) capture(name string) {
	if path, err := p.screenshot(name); err != nil {
		p.t.Logf("%s: %v", p.name, err)
	} else {
		p.t.Logf("%s: screenshot %s", p.name, path)
	}
}

func (p *Page) screenshot(name string) (string, error) {
	ctx, cancel := context.WithTimeout(p.ctx, p.timeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		return "", fmt.Errorf("screenshot %s: %w", name, err)
	}
	path := filepath.Join(p.t.ArtifactDir(), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return "", fmt.Errorf("screenshot %s: %w", name, err)
	}
	return path, nil
}
