package soak

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
)

// syncLabel marks everything the controller applied.
const syncLabel = "latchkey.dev/sync"

// snapshot is the fleet as one poll of the API server saw it.
type snapshot struct {
	at    time.Time
	ready int
	ns    []nsState // by Sync index
}

type nsState struct {
	ready   bool
	applied int            // index of the applied commit, -1 if unknown
	maps    map[string]int // ConfigMap labelled as the Sync's → generation
	value   int            // index of the Secret's value among its group's, -1 if absent or unknown
}

// observe lists the Syncs, and the ConfigMaps and Secrets they applied.
func observe(ctx context.Context, c client.Client, d *desired, n, groups int) (snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	s := snapshot{at: time.Now(), ns: make([]nsState, n)}
	index := map[string]int{}
	for i := range n {
		index[namespaceOf(i)] = i
		s.ns[i] = nsState{applied: -1, value: -1, maps: map[string]int{}}
	}
	var syncs v1alpha1.SyncList
	if err := c.List(ctx, &syncs); err != nil {
		return s, err
	}
	for _, sy := range syncs.Items {
		i, ok := index[sy.Namespace]
		if !ok {
			continue
		}
		s.ns[i].ready = apimeta.IsStatusConditionTrue(sy.Status.Conditions, v1alpha1.ConditionReady)
		s.ns[i].applied = d.revisionIndex(sy.Status.LastAppliedRevision)
		if s.ns[i].ready {
			s.ready++
		}
	}
	var maps corev1.ConfigMapList
	if err := c.List(ctx, &maps, client.HasLabels{syncLabel}); err != nil {
		return s, err
	}
	for _, cm := range maps.Items {
		if i, ok := index[cm.Namespace]; ok {
			s.ns[i].maps[cm.Name] = generationOf(cm.Data["generation"])
		}
	}
	var secrets corev1.SecretList
	if err := c.List(ctx, &secrets, client.HasLabels{syncLabel}); err != nil {
		return s, err
	}
	for _, sec := range secrets.Items {
		if i, ok := index[sec.Namespace]; ok && sec.Name == "db" {
			s.ns[i].value = d.valueIndex(groupOf(i, groups), string(sec.Data["password"]))
		}
	}
	return s, nil
}

// differences lists how the fleet differs from what Git and Vault hold now
// (empty: converged).
func differences(s snapshot, d *desired, groups int) []string {
	d.mu.Lock()
	head := d.commits[d.head]
	states := append([]groupState(nil), d.groups...)
	newest := make([]int, groups)
	for g := range groups {
		newest[g] = len(d.values[g]) - 1
	}
	d.mu.Unlock()
	var out []string
	for i, ns := range s.ns {
		g := groupOf(i, groups)
		var why []string
		if !ns.ready {
			why = append(why, "not Ready")
		}
		if ns.applied != head {
			why = append(why, fmt.Sprintf("applied commit #%d, head is #%d", ns.applied, head))
		}
		want := expected(states[g])
		for name, gen := range want {
			got, ok := ns.maps[name]
			switch {
			case !ok:
				why = append(why, "missing "+name)
			case got != gen:
				why = append(why, fmt.Sprintf("%s at generation %d, want %d", name, got, gen))
			}
		}
		for name := range ns.maps {
			if _, ok := want[name]; !ok {
				why = append(why, "orphan "+name)
			}
		}
		if ns.value != newest[g] {
			why = append(why, fmt.Sprintf("secret at value #%d, want #%d", ns.value, newest[g]))
		}
		if len(why) > 0 {
			sort.Strings(why)
			out = append(out, namespaceOf(i)+": "+strings.Join(why, ", "))
		}
	}
	return out
}

// event is one injected change and when the fleet had taken it.
type event struct {
	kind  string // commit, rotation, vault restart
	at    time.Time
	group int // commit, rotation: the group changed (-1: all)
	index int // commit: commit index; rotation: value index
	// back is when a restarted Vault had its secrets again.
	back time.Time
	// done is the first poll that found every Sync concerned Ready and at
	// (or past) the change; zero while pending.
	done time.Time
	// minReady is the fewest Syncs Ready in the polls while it was pending.
	minReady int
}

// tracker matches polls to pending events.
type tracker struct {
	mu     sync.Mutex
	n      int
	groups int
	events []*event
	last   snapshot
	polls  int
	errs   []string
}

func (t *tracker) add(e *event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e.minReady = t.n
	t.events = append(t.events, e)
}

func (t *tracker) update(s snapshot) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.last = s
	t.polls++
	for _, e := range t.events {
		if !e.done.IsZero() {
			continue
		}
		e.minReady = min(e.minReady, s.ready)
		if t.taken(e, s) {
			e.done = s.at
		}
	}
}

func (t *tracker) taken(e *event, s snapshot) bool {
	switch e.kind {
	case "vault restart":
		return !e.back.IsZero() && s.at.After(e.back) && s.ready == t.n
	default:
		for i, ns := range s.ns {
			if groupOf(i, t.groups) != e.group {
				continue
			}
			if e.kind == "commit" && (!ns.ready || ns.applied < e.index) {
				return false
			}
			if e.kind == "rotation" && (!ns.ready || ns.value < e.index) {
				return false
			}
		}
		return true
	}
}

func (t *tracker) lastReady() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last.ready
}

// poll observes the fleet every period until stop is closed (not by
// cancelling ctx, which would cut a request short).
func (t *tracker) poll(ctx context.Context, stop <-chan struct{}, c client.Client, d *desired, period time.Duration) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		s, err := observe(ctx, c, d, t.n, t.groups)
		if err != nil {
			t.mu.Lock()
			t.errs = append(t.errs, fmt.Sprintf("%s: polling the fleet: %v", time.Now().Format(time.TimeOnly), err))
			t.mu.Unlock()
		} else {
			t.update(s)
		}
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}
