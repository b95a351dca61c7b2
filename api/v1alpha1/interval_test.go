package v1alpha1_test

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/internal/testenv"
)

func TestIntervalFloorRaisesTheGettersNotTheSpec(t *testing.T) {
	s := &v1alpha1.Sync{Spec: v1alpha1.SyncSpec{
		Source:   v1alpha1.GitSource{Interval: metav1.Duration{Duration: time.Second}},
		Rotation: v1alpha1.Rotation{Interval: &metav1.Duration{Duration: 2 * time.Second}},
	}}
	if s.GetInterval() != time.Second || s.GetRotationInterval() != 2*time.Second || len(s.IntervalsRaised()) != 0 {
		t.Fatalf("without a floor: %s %s %v", s.GetInterval(), s.GetRotationInterval(), s.IntervalsRaised())
	}
	s.SetIntervalFloor(10 * time.Second)
	if s.GetInterval() != 10*time.Second || s.GetRotationInterval() != 10*time.Second {
		t.Fatalf("with a 10s floor: %s %s", s.GetInterval(), s.GetRotationInterval())
	}
	if got := strings.Join(s.IntervalsRaised(), ", "); got != "spec.source.interval 1s, spec.rotation.interval 2s" {
		t.Fatalf("raised: %q", got)
	}
	if s.Spec.Source.Interval.Duration != time.Second {
		t.Fatalf("the floor changed the spec")
	}
	c := s.DeepCopy()
	if c.GetInterval() != 10*time.Second {
		t.Fatalf("a deep copy lost the floor")
	}
	// Longer intervals and the defaults are left alone.
	long := &v1alpha1.Sync{Spec: v1alpha1.SyncSpec{Source: v1alpha1.GitSource{Interval: metav1.Duration{Duration: time.Hour}}}}
	long.SetIntervalFloor(10 * time.Second)
	if long.GetInterval() != time.Hour || long.GetRotationInterval() != v1alpha1.DefaultRotationInterval || len(long.IntervalsRaised()) != 0 {
		t.Fatalf("long: %s %s %v", long.GetInterval(), long.GetRotationInterval(), long.IntervalsRaised())
	}
}

// The CRD refuses intervals under a second: the real API server evaluates
// the CEL rules.
func TestCRDRefusesIntervalsUnderASecond(t *testing.T) {
	if testing.Short() {
		t.Skip("starts kube-apiserver and etcd")
	}
	kube := testenv.StartKube(t, testenv.WithScheme(v1alpha1.AddToScheme))
	ns := kube.CreateNamespace(t, "intervals")
	d := func(s string) *metav1.Duration {
		v, err := time.ParseDuration(s)
		if err != nil {
			t.Fatal(err)
		}
		return &metav1.Duration{Duration: v}
	}
	tests := []struct {
		name             string
		source, rotation *metav1.Duration
		wantErr          string
	}{
		{name: "1ms source interval", source: d("1ms"), wantErr: "spec.source.interval: Invalid value: \"1ms\": interval must be at least 1s"},
		{name: "999ms source interval", source: d("999ms"), wantErr: "interval must be at least 1s"},
		{name: "1ms rotation interval", rotation: d("1ms"), wantErr: "spec.rotation.interval: Invalid value: \"1ms\": rotation interval must be at least 1s"},
		{name: "30s", source: d("30s"), rotation: d("30s")},
		{name: "1s", source: d("1s"), rotation: d("1s")},
		{name: "unset (a Go client sends 0s): the default", source: d("0s")},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &v1alpha1.Sync{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "s" + string(rune('a'+i))},
				Spec:       v1alpha1.SyncSpec{Source: v1alpha1.GitSource{URL: "https://git.example/repo.git"}},
			}
			if tc.source != nil {
				s.Spec.Source.Interval = *tc.source
			}
			s.Spec.Rotation.Interval = tc.rotation
			err := kube.Client.Create(context.Background(), s)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("accepted %+v", s.Spec)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("err = %v\nwant it to contain %q", err, tc.wantErr)
			}
		})
	}
}
