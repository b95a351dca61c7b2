package faults

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mathrand "math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/reconcile"
	"github.com/latchkey-dev/latchkey/reconcile/source"
)

// GitTimeout is the controller's --git-timeout in the Git campaign: short,
// so that a server slower than it fails a fetch within a trial.
const GitTimeout = 2 * time.Second

// The fleet every Git trial changes: Syncs in gitNamespaces follow
// directory "app", which holds some of gitConfigMaps ConfigMaps; each
// revision adds some, removes some and changes the others.
const gitConfigMaps = 8

var gitNamespaces = []string{"git-a", "git-b"}

// GitFaults breaks the Git server the Syncs of one World fetch from (through
// a Proxy: down, answering 500, slower than --git-timeout, cutting packs in
// half; and on the server: history force-pushed, the branch deleted), each
// c.Trials times with a commit pending, and returns one row per fault.
//
// What is correct:
//   - while the server is down, failing, slow or truncating, nothing of the
//     pending revision is applied and nothing is pruned: the cluster keeps
//     the last applied revision, status.lastAppliedRevision still names it,
//     and Ready is False with reason FetchFailed and a message naming the
//     repository URL (without credentials) and the cause. Once the fault is
//     lifted every Sync reaches the head;
//   - a force-pushed branch is followed to its new head, as Flux and Argo CD
//     do: the branch is the source of truth, not its history. The head is
//     applied and what it no longer has is pruned; nothing it still has is;
//   - a deleted branch fails the Sync (FetchFailed, "has no branch main")
//     and keeps everything applied: a branch deleted by mistake must not
//     empty the cluster. Pushing the branch again resumes.
//
// Recovery is timed from the fault lifted (the proxy passing again, the
// branch pushed again, the force push made) to every Sync Ready at the head.
func GitFaults(tb testing.TB, c Campaign) []Row {
	tb.Helper()
	g := startGitCampaign(tb)
	var rows []Row
	for _, f := range gitFaults() {
		rows = append(rows, g.run(tb, c, f))
	}
	return rows
}

// gitFault is one row of the Git campaign.
type gitFault struct {
	name, checked string
	kind          gitFaultKind
	// proxy is the fault a proxy trial injects.
	proxy Fault
	// hold is how long the fault lasts, drawn per trial.
	hold func(r *mathrand.Rand) time.Duration
	// cause is what the Ready message must say besides the URL.
	cause []string
}

type gitFaultKind int

const (
	proxyFault gitFaultKind = iota
	branchDeleted
	forcePushed
)

// randomHold is 1-3 s after the first failure is due.
func randomHold(after time.Duration) func(*mathrand.Rand) time.Duration {
	return func(r *mathrand.Rand) time.Duration {
		return after + time.Second + time.Duration(r.Int64N(int64(2*time.Second)))
	}
}

func gitFaults() []gitFault {
	const during = "during: nothing applied or pruned, last applied revision kept, Ready=False naming the URL and "
	const after = "; after: Ready at head, inventory = Git, no orphan, no wrong prune, no canary"
	uploadPack := func(r *http.Request) bool {
		return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack")
	}
	return []gitFault{
		{name: "Git server down", kind: proxyFault, proxy: Fault{Kind: Down},
			hold: randomHold(time.Second), cause: []string{"connection refused"},
			checked: during + "the refused connection" + after},
		// A long outage: the retries' backoff must not outgrow the
		// Sync's interval, or recovery takes as long as the outage did.
		{name: "Git server down 15-17 s", kind: proxyFault, proxy: Fault{Kind: Down},
			hold: randomHold(14 * time.Second), cause: []string{"connection refused"},
			checked: during + "the refused connection" + after},
		{name: "Git server answering 500", kind: proxyFault, proxy: Fault{Kind: Status, Status: http.StatusInternalServerError},
			hold: randomHold(time.Second), cause: []string{"status code: 500"},
			checked: during + "the status" + after},
		{name: "Git server slower than --git-timeout", kind: proxyFault, proxy: Fault{Kind: Delay, Delay: 3 * GitTimeout},
			hold: randomHold(2 * GitTimeout), cause: []string{"--git-timeout"},
			checked: during + "the timeout and its flag" + after},
		{name: "packfile truncated", kind: proxyFault, proxy: Fault{Kind: Truncate, Match: uploadPack},
			hold: randomHold(time.Second), cause: []string{"fetching", "branch main"},
			checked: during + "the fetch of the branch" + after},
		{name: "history force-pushed", kind: forcePushed,
			checked: "the new head followed (the applied revision unreachable); only what it lacks pruned" + after},
		{name: "branch deleted", kind: branchDeleted,
			hold: randomHold(time.Second), cause: []string{"has no branch main"},
			checked: during + "the missing branch" + after + " (once pushed again)"},
	}
}

// gitCampaign is the World of the Git campaign and what its Git holds.
type gitCampaign struct {
	w     *World
	proxy *Proxy
	url   string // the repository through the proxy
	cms   *cmWatch
	// canary is the Git password of every Sync: it must appear nowhere.
	canary string

	head, prev string // the head every Sync is Ready at, and its parent
	set        []int  // the ConfigMaps the head has
	gen        int    // the head's generation, in every ConfigMap's data
}

func startGitCampaign(tb testing.TB) *gitCampaign {
	tb.Helper()
	// --min-interval lets the Syncs poll every second, as the trials need.
	w := StartWorld(tb, WorldOptions{ControllerArgs: []string{"--git-timeout=" + GitTimeout.String(), "--min-interval=1s"}})
	p := &Proxy{Target: w.Git.URL}
	if err := p.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.Stop() })
	buf := make([]byte, 12)
	_, _ = rand.Read(buf)
	g := &gitCampaign{w: w, proxy: p, url: p.URL + "/fleet.git", canary: "lk-git-canary-" + hex.EncodeToString(buf)}
	g.prev = w.Repo.Commit(tb, "readme", map[string]string{"README.md": "the fleet\n"})
	g.set = []int{0, 1, 2, 3}
	g.head = w.Repo.Put(tb, "first revision", "app", g.files(g.set, 1))
	g.gen = 1
	ctx := context.Background()
	for _, ns := range gitNamespaces {
		w.Kube.CreateNamespace(tb, ns)
		// Credentials the server does not ask for but the controller
		// sends: the canary that must not leak into a message.
		creds := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "git-credentials"},
			StringData: map[string]string{source.KeyUsername: "latchkey", source.KeyPassword: g.canary},
		}
		if err := w.Client.Create(ctx, creds); err != nil {
			tb.Fatal(err)
		}
	}
	for _, ns := range gitNamespaces {
		w.TenantAt(tb, ns, g.url, "app", time.Second, func(s *v1alpha1.Sync) {
			s.Spec.Source.SecretRef = &v1alpha1.LocalObjectReference{Name: "git-credentials"}
		})
	}
	if _, err := w.WaitReady(ctx, gitNamespaces, g.head, 90*time.Second); err != nil {
		tb.Fatalf("the Git campaign's fleet did not converge before any fault: %v", err)
	}
	g.cms = w.watchConfigMaps(tb)
	return g
}

// files is the directory "app" of a revision holding ConfigMaps set at
// generation gen.
func (g *gitCampaign) files(set []int, gen int) map[string]string {
	files := map[string]string{}
	for _, i := range set {
		files[fmt.Sprintf("app/cm-%d.yaml", i)] = fmt.Sprintf(
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%d\ndata:\n  gen: \"%d\"\n", i, gen)
	}
	return files
}

// next draws the next revision's ConfigMaps: one to three of the current
// removed, one to three others added.
func (g *gitCampaign) next(r *mathrand.Rand) []int {
	var kept, absent []int
	for i := range gitConfigMaps {
		if slices.Contains(g.set, i) {
			kept = append(kept, i)
		} else {
			absent = append(absent, i)
		}
	}
	r.Shuffle(len(kept), func(i, j int) { kept[i], kept[j] = kept[j], kept[i] })
	r.Shuffle(len(absent), func(i, j int) { absent[i], absent[j] = absent[j], absent[i] })
	drop := 1 + r.IntN(min(3, len(kept)-1))
	add := 1 + r.IntN(min(3, len(absent)))
	set := append(kept[drop:], absent[:add]...)
	slices.Sort(set)
	return set
}

func names(set []int) []string {
	var out []string
	for _, i := range set {
		out = append(out, fmt.Sprintf("ConfigMap/cm-%d", i))
	}
	slices.Sort(out)
	return out
}

func (g *gitCampaign) run(tb testing.TB, c Campaign, f gitFault) Row {
	tb.Helper()
	row := Row{Fault: f.name, Checked: f.checked, Trials: c.Trials}
	r := c.Rand("git: " + f.name)
	for trial := range c.Trials {
		g.trial(tb, &row, trial, f, r)
	}
	return row
}

// trial injects f with a commit pending, checks the promises while it lasts,
// lifts it and checks the recovery.
func (g *gitCampaign) trial(tb testing.TB, row *Row, trial int, f gitFault, r *mathrand.Rand) {
	tb.Helper()
	ctx := context.Background()
	old, oldGen := g.set, g.gen
	set, gen := g.next(r), g.gen+1
	mark := g.cms.mark()
	msg := fmt.Sprintf("%s, trial %d", f.name, trial)
	var head string
	var lifted time.Time
	switch f.kind {
	case forcePushed:
		// The branch jumps from the applied head to a sibling of it: the
		// applied revision is no longer reachable from the branch.
		head = g.w.Repo.Rewrite(tb, g.prev, msg, "app", g.files(set, gen))
		lifted = time.Now()
	case proxyFault:
		if err := g.proxy.Set(f.proxy); err != nil {
			tb.Fatal(err)
		}
		head = g.w.Repo.Put(tb, msg, "app", g.files(set, gen))
		g.during(ctx, row, trial, f, f.hold(r), old, oldGen, mark)
		if err := g.proxy.Set(Fault{}); err != nil {
			tb.Fatal(err)
		}
		lifted = time.Now()
		g.prev = g.head
	case branchDeleted:
		g.w.Repo.DeleteBranch(tb, "main")
		g.during(ctx, row, trial, f, f.hold(r), old, oldGen, mark)
		// The branch comes back with the pending commit on it.
		head = g.w.Repo.Put(tb, msg, "app", g.files(set, gen))
		lifted = time.Now()
		g.prev = g.head
	}
	g.head, g.set, g.gen = head, set, gen
	g.recovered(ctx, row, trial, lifted, old, mark)
}

// during holds the fault for hold, then checks what must be true while it
// lasts: every Sync said why it failed, and nothing of the pending revision
// was applied and nothing pruned.
func (g *gitCampaign) during(ctx context.Context, row *Row, trial int, f gitFault, hold time.Duration, old []int, oldGen, mark int) {
	want := append([]string{g.url}, f.cause...)
	named := map[string]bool{}
	last := map[string]string{}
	for end := time.Now().Add(hold); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		for _, ns := range gitNamespaces {
			s, err := g.w.Sync(ctx, ns, "app")
			if err != nil {
				row.Fail(trial, "%s: reading the Sync: %v", ns, err)
				return
			}
			last[ns] = Condition(s)
			c := apimeta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionReady)
			if c != nil && c.Status == metav1.ConditionFalse && c.Reason == v1alpha1.ReasonFetchFailed && containsAll(c.Message, want) {
				named[ns] = true
			}
			if s.Status.LastAppliedRevision != g.head {
				row.Fail(trial, "%s: during the fault, last applied revision %.12s, want %.12s still", ns, s.Status.LastAppliedRevision, g.head)
				return
			}
		}
	}
	for _, ns := range gitNamespaces {
		if !named[ns] {
			row.Fail(trial, "%s: during the fault, Ready never said FetchFailed with %q; last: %s", ns, want, last[ns])
		}
		o, err := g.w.Owned(ctx, ns)
		if err != nil {
			row.Fail(trial, "%s: %v", ns, err)
			continue
		}
		if d := Diff(names(old), o.Labelled); d != "" {
			row.Fail(trial, "%s: during the fault the cluster no longer holds the last applied revision: %s", ns, d)
		}
	}
	for _, e := range g.cms.since(mark) {
		switch {
		case e.Type == watch.Deleted:
			row.WrongPrunes++
			row.Fail(trial, "%s: ConfigMap %s pruned during the fault", e.Namespace, e.Name)
		case e.Data["gen"] != strconv.Itoa(oldGen):
			row.PartialApplies++
			row.Fail(trial, "%s: ConfigMap %s %s at generation %s during the fault", e.Namespace, e.Name, strings.ToLower(string(e.Type)), e.Data["gen"])
		}
	}
}

// recovered waits for every Sync to be Ready at the head, times it from
// lifted, and checks that what each owns is what the head renders and that
// only what the head lacks was pruned.
func (g *gitCampaign) recovered(ctx context.Context, row *Row, trial int, lifted time.Time, old []int, mark int) {
	if _, err := g.w.WaitReady(ctx, gitNamespaces, g.head, 60*time.Second); err != nil {
		row.Fail(trial, "no recovery after the fault: %v", err)
		return
	}
	row.Recovery = append(row.Recovery, time.Since(lifted))
	want := names(g.set)
	for _, ns := range gitNamespaces {
		o, err := g.w.Owned(ctx, ns)
		if err != nil {
			row.Fail(trial, "%s: %v", ns, err)
			continue
		}
		row.Orphans += len(o.Orphans)
		if len(o.Orphans) > 0 {
			row.Fail(trial, "%s: orphans %v", ns, o.Orphans)
		}
		if d := Diff(want, o.Labelled) + Diff(want, o.Inventory); d != "" {
			row.Fail(trial, "%s: labelled/inventory differ from the head: %s", ns, d)
		}
		var cms corev1.ConfigMapList
		if err := g.w.Client.List(ctx, &cms, client.InNamespace(ns), client.HasLabels{reconcile.LabelSync}); err != nil {
			row.Fail(trial, "%s: %v", ns, err)
			continue
		}
		for _, cm := range cms.Items {
			if cm.Data["gen"] != strconv.Itoa(g.gen) {
				row.Fail(trial, "%s: ConfigMap %s at generation %s once Ready at the head (generation %d)", ns, cm.Name, cm.Data["gen"], g.gen)
			}
		}
		g.noCanary(ctx, row, trial, ns)
	}
	for _, e := range g.cms.since(mark) {
		if e.Type == watch.Deleted && slices.Contains(want, "ConfigMap/"+e.Name) {
			row.WrongPrunes++
			row.Fail(trial, "%s: ConfigMap %s pruned though the head has it", e.Namespace, e.Name)
		}
	}
	if strings.Contains(g.w.Controller.LogTail(5000), g.canary) {
		row.Fail(trial, "the controller logged the Git password")
	}
}

// noCanary checks that the Git password is in no status or event of ns.
func (g *gitCampaign) noCanary(ctx context.Context, row *Row, trial int, ns string) {
	s, err := g.w.Sync(ctx, ns, "app")
	if err == nil && strings.Contains(fmt.Sprint(s.Status), g.canary) {
		row.Fail(trial, "%s: the Sync's status carries the Git password", ns)
	}
	var events corev1.EventList
	if err := g.w.Client.List(ctx, &events, client.InNamespace(ns)); err != nil {
		row.Fail(trial, "%s: listing events: %v", ns, err)
		return
	}
	for _, e := range events.Items {
		if strings.Contains(e.Message, g.canary) {
			row.Fail(trial, "%s: event %s carries the Git password", ns, e.Reason)
		}
	}
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
