package browser_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/browser"
)

// page is a page whose script adds an item a moment after it loads, logs
// to the console and throws.
const page = `<!doctype html><title>t</title>
<p id="state">loading</p><ul id="items"></ul>
<script>
setTimeout(() => {
  document.getElementById('state').textContent = ' ready ';
  for (const s of ['a', 'b']) {
    const li = document.createElement('li');
    li.textContent = s;
    li.dataset.id = 'id-' + s;
    document.getElementById('items').append(li);
  }
  console.log('items added');
  throw new Error('boom');
}, 100);
</script>`

// A real Chromium loads a page; the waits see what its script does later,
// the reads see the DOM, the console and the exception are collected, and
// a screenshot lands in the artifact directory.
func TestPage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	}))
	defer srv.Close()
	p := browser.New(t).NewPage()
	p.Navigate(srv.URL)
	p.WaitText("#state", "ready")
	p.WaitCount("#items li", 2)
	p.WaitFor("#items li[data-id=id-b]")
	if got := p.Texts("#items li"); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("texts %v", got)
	}
	if got := p.Attrs("#items li", "data-id"); !slices.Equal(got, []string{"id-a", "id-b"}) {
		t.Fatalf("data-id %v", got)
	}
	if got := p.Text("#state"); got != "ready" {
		t.Fatalf("text %q", got)
	}
	if got := p.Count("li"); got != 2 {
		t.Fatalf("count %d", got)
	}
	var sum int
	p.Eval("1 + 2", &sum)
	if sum != 3 {
		t.Fatalf("eval: %d", sum)
	}
	p.WaitConsole("items added")
	if m := p.WaitConsole("boom"); !strings.Contains(m, "Error") {
		t.Errorf("exception reported as %q", m)
	}
	path := p.Screenshot("page")
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 || filepath.Dir(path) != t.ArtifactDir() {
		t.Fatalf("screenshot %s: %v", path, err)
	}
}

// A wait that is never satisfied fails the test within the timeout, saying
// what it waited for and what the page shows instead.
func TestWaitTimesOut(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	}))
	defer srv.Close()
	rec := &recorder{TB: t}
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		p := browser.New(rec, browser.Timeout(2*time.Second)).NewPage()
		p.Navigate(srv.URL)
		p.WaitText("#state", "never")
	}()
	<-done
	if took := time.Since(start); took > time.Minute {
		t.Errorf("the wait took %v", took)
	}
	for _, want := range []string{`#state to read "never"`, "not so within 2s", `now " ready "`} {
		if !strings.Contains(rec.msg, want) {
			t.Errorf("message %q lacks %q", rec.msg, want)
		}
	}
}

// With no chromium binary, New fails the test (it does not skip it) and
// says how to install one.
func TestNoChromium(t *testing.T) {
	rec := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		browser.New(rec, browser.ExecPath(filepath.Join(t.TempDir(), "no-chromium")))
	}()
	<-done
	if !rec.failed {
		t.Fatal("New did not fail")
	}
	for _, want := range []string{"no chromium binary found", "no-chromium", `"make up"`, "installs chromium"} {
		if !strings.Contains(rec.msg, want) {
			t.Errorf("message %q lacks %q", rec.msg, want)
		}
	}
	if _, err := browser.FindChromium(""); err != nil {
		t.Fatalf("the default lookup fails here: %v", err)
	}
}

// recorder is a testing.TB whose Fatal and Skip record the call and stop
// the goroutine, without ending the real test.
type recorder struct {
	testing.TB
	failed, skipped bool
	msg             string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatal(args ...any) { r.fail(fmt.Sprint(args...)) }

func (r *recorder) Fatalf(format string, args ...any) { r.fail(fmt.Sprintf(format, args...)) }

func (r *recorder) Skip(args ...any) { r.skipped = true; runtime.Goexit() }

func (r *recorder) fail(msg string) {
	r.failed, r.msg = true, msg
	runtime.Goexit()
}
