package testenv

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// A restarted kube-apiserver or etcd is the same cluster: the clients made
// before (their kubeconfig: address, CA, client certificate) keep working
// and the data is still there.
func TestKubeRestartsAPIServerAndEtcdInPlace(t *testing.T) {
	k := StartKube(t)
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "kept"}, Data: map[string]string{"k": "v"}}
	if err := k.Client.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	readBack := func(when string) {
		t.Helper()
		var got corev1.ConfigMap
		var err error
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if err = k.Client.Get(ctx, client.ObjectKeyFromObject(cm), &got); err == nil {
				break
			}
		}
		if err != nil || got.Data["k"] != "v" {
			t.Fatalf("%s: reading the ConfigMap with the client made before: %v %v", when, got.Data, err)
		}
	}

	k.StopAPIServer(t)
	if err := k.Client.Get(ctx, client.ObjectKeyFromObject(cm), &corev1.ConfigMap{}); err == nil {
		t.Fatal("kube-apiserver stopped, yet a request succeeded")
	}
	k.StartAPIServer(t)
	readBack("after kube-apiserver restarted")

	k.StopEtcd(t)
	// Reads may be served from the API server's watch cache; a write must
	// reach etcd.
	short, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := k.Client.Update(short, cm); err == nil {
		t.Fatal("etcd stopped, yet a write succeeded")
	}
	k.StartEtcd(t)
	readBack("after etcd restarted")
}
