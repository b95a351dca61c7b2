package source

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// storedSize is what the served repository's objects take on disk
// (compressed, loose or packed), for the log.
func storedSize(bare string) int64 {
	var n int64
	_ = filepath.WalkDir(filepath.Join(bare, "objects"), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// peakRSS is the process's peak resident set (VmHWM), where Linux tells it.
func peakRSS() string {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func wantLimit(t *testing.T, err error, limit int64, flag, text string) {
	t.Helper()
	var le *LimitError
	if !errors.As(err, &le) {
		t.Fatalf("error = %v, want a *LimitError", err)
	}
	if le.Limit != limit || le.Flag != flag || !strings.Contains(err.Error(), text) || !strings.Contains(err.Error(), flag) {
		t.Fatalf("error = %v\nwant the limit %s and the flag %s", err, text, flag)
	}
}

func TestFetchRefusesAHugeInflatedBlobBeforeHoldingIt(t *testing.T) {
	srv := testenv.StartGitServer(t)
	repo := srv.NewRepo(t, "bomb")
	repo.Commit(t, "manifests", map[string]string{"apps/a.yaml": "a: 1\n"})
	size := int64(1 << 30)
	if testing.Short() {
		size = 256 << 20 // about 7 s to build instead of 25 on a busy machine
	}
	start := time.Now()
	rev := repo.CommitZeros(t, "apps/zeros.bin", size)
	t.Logf("a blob of %d MiB of zeros: built in %s, %d KiB stored", size>>20, time.Since(start).Round(time.Millisecond), storedSize(repo.Bare)>>10)

	f := NewFetcher(Options{})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start = time.Now()
	_, err := f.Fetch(context.Background(), repo.URL, Ref{}, rev, nil)
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	wantLimit(t, err, DefaultMaxFileBytes, flagMaxFileBytes, "16Mi")
	grew := after.TotalAlloc - before.TotalAlloc
	t.Logf("refused in %s; allocated %d KiB in total during the fetch, heap in use %d KiB after (%d KiB before); test process peak RSS %s",
		elapsed.Round(time.Millisecond), grew>>10, after.HeapInuse>>10, before.HeapInuse>>10, peakRSS())
	if grew > 32<<20 {
		t.Fatalf("the refused fetch allocated %d MiB: the blob was inflated", grew>>20)
	}
}

func TestFetchRefusesARevisionOverItsTotal(t *testing.T) {
	srv := testenv.StartGitServer(t)
	repo := srv.NewRepo(t, "wide")
	// Three distinct 6 MiB files: each within the bound per file, 18 MiB
	// together against a total of 16 MiB.
	rev := repo.Commit(t, "wide", map[string]string{
		"a.txt": strings.Repeat("a", 6<<20), "b.txt": strings.Repeat("b", 6<<20), "c.txt": strings.Repeat("c", 6<<20),
	})
	_, err := NewFetcher(Options{MaxBytes: 16 << 20}).Fetch(context.Background(), repo.URL, Ref{}, rev, nil)
	wantLimit(t, err, 16<<20, flagMaxBytes, "16Mi")

	// Within a total that holds them, the same revision fetches.
	s, err := NewFetcher(Options{MaxBytes: 32 << 20}).Fetch(context.Background(), repo.URL, Ref{}, rev, nil)
	if err != nil || s.Len() != 3 || s.Size() != 18<<20 {
		t.Fatalf("within bounds: %v", err)
	}
}

func TestFetchAndRefListingStopAtTheWireLimit(t *testing.T) {
	srv := testenv.StartGitServer(t)
	repo := srv.NewRepo(t, "noise")
	noise := make([]byte, 2<<20) // incompressible: 2 MiB on the wire
	if _, err := rand.Read(noise); err != nil {
		t.Fatal(err)
	}
	rev := repo.Commit(t, "noise", map[string]string{"noise.bin": string(noise)})
	f := NewFetcher(Options{MaxFetchBytes: 1 << 20})
	_, err := f.Fetch(context.Background(), repo.URL, Ref{}, rev, nil)
	wantLimit(t, err, 1<<20, flagMaxFetchBytes, "1Mi")

	// The ref advertisement is metered too: a few hundred bytes pass a
	// budget of 1 KiB, not of 100 bytes.
	if _, err := NewFetcher(Options{MaxFetchBytes: 1 << 10}).Revision(context.Background(), repo.URL, Ref{}, nil, 0); err != nil {
		t.Fatalf("listing refs within the budget: %v", err)
	}
	_, err = NewFetcher(Options{MaxFetchBytes: 100}).Revision(context.Background(), repo.URL, Ref{}, nil, 0)
	wantLimit(t, err, 100, flagMaxFetchBytes, "100")
}

func TestPackOverTheWireLimitIsRefusedWhileReceived(t *testing.T) {
	// Over SSH the HTTP meter does not apply: the pack writer is the bound.
	s := newBoundedStorage(Options{MaxFetchBytes: 1 << 10, MaxFileBytes: 1 << 20, MaxBytes: 1 << 20}, "ssh://host/repo.git")
	w, err := s.PackfileWriter()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 1000)); err != nil {
		t.Fatalf("within the limit: %v", err)
	}
	_, err = w.Write(make([]byte, 100))
	wantLimit(t, err, 1<<10, flagMaxFetchBytes, "1Ki")
}

func TestSnapshotCacheStaysWithinItsBytes(t *testing.T) {
	srv := testenv.StartGitServer(t)
	repo := srv.NewRepo(t, "cache")
	var revs []string
	for _, c := range []string{"a", "b", "c"} {
		revs = append(revs, repo.Commit(t, c, map[string]string{"f.txt": strings.Repeat(c, 1<<20)}))
	}
	// 2.5 MiB holds two revisions of 1 MiB, not three.
	f := NewFetcher(Options{CacheBytes: 5 << 19})
	ctx := context.Background()
	snaps := map[string]*Snapshot{}
	for _, rev := range revs {
		s, err := f.Fetch(ctx, repo.URL, Ref{Commit: rev}, rev, nil)
		if err != nil {
			t.Fatal(err)
		}
		snaps[rev] = s
	}
	if f.cacheBytes > 5<<19 || f.lru.Len() != 2 {
		t.Fatalf("cache holds %d snapshots, %d bytes; want 2 within %d", f.lru.Len(), f.cacheBytes, 5<<19)
	}
	for i, rev := range revs {
		s, err := f.Fetch(ctx, repo.URL, Ref{Commit: rev}, rev, nil)
		if err != nil {
			t.Fatal(err)
		}
		if cached := s == snaps[rev]; cached != (i > 0) {
			t.Errorf("revision %d: served from the cache = %v, want %v (the least recently used is dropped)", i, cached, i > 0)
		}
		if i == 0 {
			break // fetching it again evicted the next one; the rest is not the question
		}
	}
	// A snapshot larger than the whole cache is served but not kept.
	small := NewFetcher(Options{CacheBytes: 1 << 19})
	if _, err := small.Fetch(ctx, repo.URL, Ref{Commit: revs[0]}, revs[0], nil); err != nil {
		t.Fatal(err)
	}
	if small.lru.Len() != 0 || small.cacheBytes != 0 {
		t.Fatalf("a snapshot over the cache's bytes was kept: %d snapshots, %d bytes", small.lru.Len(), small.cacheBytes)
	}
}

// pack builds a minimal pack: a blob, then an OFS delta against it whose
// header declares targetSize. Git would not write such a delta for content
// it packs itself, but a server a tenant controls can send one, and a Git
// host may reuse a pushed delta as it is.
func pack(t *testing.T, blob []byte, targetSize uint64) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("PACK")
	_ = binary.Write(&b, binary.BigEndian, uint32(2))
	_ = binary.Write(&b, binary.BigEndian, uint32(2))
	objHeader := func(typ byte, size int) {
		c := typ<<4 | byte(size&0x0f)
		size >>= 4
		for size > 0 {
			b.WriteByte(c | 0x80)
			c = byte(size & 0x7f)
			size >>= 7
		}
		b.WriteByte(c)
	}
	deflate := func(p []byte) {
		z := zlib.NewWriter(&b)
		_, _ = z.Write(p)
		_ = z.Close()
	}
	baseOffset := b.Len()
	objHeader(3, len(blob)) // blob
	deflate(blob)

	leb := func(dst []byte, v uint64) []byte {
		for v >= 0x80 {
			dst = append(dst, byte(v)|0x80)
			v >>= 7
		}
		return append(dst, byte(v))
	}
	delta := leb(leb(nil, uint64(len(blob))), targetSize)
	delta = append(delta, 0x90, byte(len(blob))) // copy len(blob) bytes from offset 0
	deltaOffset := b.Len()
	objHeader(6, len(delta))                    // OFS delta
	b.WriteByte(byte(deltaOffset - baseOffset)) // a one-byte negative offset
	deflate(delta)
	sum := sha1.Sum(b.Bytes())
	b.Write(sum[:])
	return b.Bytes()
}

func TestPackWithADeltaBombIsRefusedFromItsHeader(t *testing.T) {
	s := newBoundedStorage(Options{MaxFetchBytes: 1 << 20, MaxFileBytes: 16 << 20, MaxBytes: 128 << 20}, "https://host/repo.git")
	// An ordinary delta passes the check and is parsed into the storage.
	w, _ := s.PackfileWriter()
	if _, err := w.Write(pack(t, []byte("base content"), 12)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("an ordinary delta: %v", err)
	}
	if n := len(s.ObjectStorage.Blobs); n != 1 {
		t.Fatalf("%d blobs stored, want 1", n)
	}
	// 1 TiB declared by the delta's header: refused before anything is resolved.
	_, err := s.checkPack(pack(t, []byte("base content"), 1<<40))
	wantLimit(t, err, 16<<20, flagMaxFileBytes, "a delta's result")
}

func TestClonesInProgressShareTheInflatedBound(t *testing.T) {
	srv := testenv.StartGitServer(t)
	repo := srv.NewRepo(t, "shared")
	rev := repo.Commit(t, "four MiB", map[string]string{"f.txt": strings.Repeat("f", 4<<20)})
	f := NewFetcher(Options{MaxBytes: 8 << 20})
	// Another clone holds 6 MiB of the 8: this one (4 MiB and a little)
	// waits, here until its deadline.
	if err := f.inflating.Acquire(context.Background(), 6<<20); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := f.Fetch(ctx, repo.URL, Ref{}, rev, nil)
	if err == nil || !strings.Contains(err.Error(), "waiting for the other Git fetches in progress") || !strings.Contains(err.Error(), flagMaxBytes) {
		t.Fatalf("error = %v, want the wait for the shared bound named", err)
	}
	f.inflating.Release(6 << 20)
	if _, err := f.Fetch(context.Background(), repo.URL, Ref{}, rev, nil); err != nil {
		t.Fatalf("with the bound free: %v", err)
	}
	// Everything the fetches reserved was given back.
	if !f.inflating.TryAcquire(8 << 20) {
		t.Fatal("a finished fetch kept its share of the bound")
	}
}
