package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// exposeController makes the out-of-cluster controller reachable the way
// kubeseal reaches it in a real cluster: through the API server's service
// proxy to Service kube-system/sealed-secrets-controller, whose endpoint is
// a forwarder on a non-loopback address of this host.
func exposeController(t *testing.T, k *testenv.Kube, ss *testenv.SealedSecrets) {
	t.Helper()
	ip := hostIP(t)
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		testenv.Unavailable(t, fmt.Sprintf("cannot listen on %s: %v", ip, err))
	}
	target, _ := url.Parse(ss.CertURL)
	target.Path = ""
	srv := &http.Server{Handler: httputil.NewSingleHostReverseProxy(target), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	port := int32(l.Addr().(*net.TCPAddr).Port)

	ctx := context.Background()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ss.Namespace, Name: ss.ControllerName},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}}}}
	if err := k.Client.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	// The API server only proxies to endpoints that are pods with that IP:
	// a pod object stands for the controller (no kubelet runs it).
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ss.Namespace, Name: ss.ControllerName + "-0"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "controller", Image: "sealed-secrets-controller"}}}}
	if err := k.Client.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}}
	if err := k.Client.Status().Update(ctx, pod); err != nil {
		t.Fatal(err)
	}
	name, proto, ready := "http", corev1.ProtocolTCP, true
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ss.Namespace, Name: ss.ControllerName + "-x", Labels: map[string]string{discoveryv1.LabelServiceName: ss.ControllerName}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: &ready},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name}}},
		Ports: []discoveryv1.EndpointPort{{Name: &name, Port: &port, Protocol: &proto}},
	}
	if err := k.Client.Create(ctx, slice); err != nil {
		t.Fatal(err)
	}
	// The API server proxies from its watch cache: wait until it sees the endpoint.
	deadline := time.Now().Add(20 * time.Second)
	for {
		body, err := k.Clientset.CoreV1().Services(ss.Namespace).ProxyGet("http", ss.ControllerName, "http", "/v1/cert.pem", nil).DoRaw(ctx)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			resp, herr := http.Get("http://" + l.Addr().String() + "/v1/cert.pem")
			t.Fatalf("the API server does not proxy to the controller: %v %s (direct: %v %v)", err, body, resp, herr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func hostIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		testenv.Unavailable(t, err.Error())
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	testenv.Unavailable(t, "no non-loopback IPv4 address for the controller's endpoint")
	return ""
}

func runBin(t *testing.T, bin, stdin string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// ciphertext matches the base64 values of encryptedData, which differ at
// every sealing.
var ciphertext = regexp.MustCompile(`(?m)("?[A-Za-z0-9_.-]+"?: "?)Ag[A-Za-z0-9+/=]{100,}("?,?)$`)

func TestSealInteropWithUpstream(t *testing.T) {
	t.Parallel() // its control plane and controller are its own
	k := testenv.StartKube(t)
	ss := testenv.StartSealedSecrets(t, k)
	exposeController(t, k, ss)
	k.CreateNamespace(t, "apps")
	kubeconfig := k.WriteKubeconfig(t)
	bin := buildLatchkey(t)
	dir := t.TempDir()
	certFile := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(certFile, ss.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	keyFile := exportKeys(t, k, ss, dir)
	const value = "sealed-canary-4b1d"
	secret := func(name, key string) string {
		return "apiVersion: v1\nkind: Secret\nmetadata:\n  name: " + name + "\n  namespace: apps\n  labels: {app: web}\ntype: Opaque\nstringData:\n  " + key + ": " + value + "\n"
	}
	ctx := context.Background()

	t.Run("the certificate is fetched through the API server's service proxy", func(t *testing.T) {
		out, stderr, err := runBin(t, bin, "", "seal", "--fetch-cert", "--kubeconfig", kubeconfig)
		if err != nil {
			t.Fatalf("%v: %s", err, stderr)
		}
		if out != string(ss.CertPEM) {
			t.Fatalf("fetched\n%s\nwant\n%s", out, ss.CertPEM)
		}
	})

	t.Run("sealed with the cluster's certificate, unsealed by the upstream controller", func(t *testing.T) {
		out, stderr, err := runBin(t, bin, secret("web", "password"), "seal", "--kubeconfig", kubeconfig, "-o", "yaml")
		if err != nil {
			t.Fatalf("%v: %s", err, stderr)
		}
		if strings.Contains(out, value) {
			t.Fatal("the output holds the plaintext")
		}
		var obj unstructured.Unstructured
		if err := yaml.Unmarshal([]byte(out), &obj.Object); err != nil {
			t.Fatal(err)
		}
		if err := k.Client.Create(ctx, &obj); err != nil {
			t.Fatal(err)
		}
		if got := ss.WaitForSecret(t, "apps", "web"); string(got.Data["password"]) != value || got.Labels["app"] != "web" {
			t.Fatalf("controller made %v %v", got.Labels, got.Data)
		}

		_, stderr, err = runBin(t, bin, out, "seal", "--validate", "--kubeconfig", kubeconfig)
		if err != nil {
			t.Fatalf("--validate of a good SealedSecret: %v: %s", err, stderr)
		}
		tampered := strings.Replace(out, "namespace: apps", "namespace: other", 1)
		if _, _, err := runBin(t, bin, tampered, "seal", "--validate", "--kubeconfig", kubeconfig); err == nil {
			t.Fatal("--validate accepted a SealedSecret moved to another namespace")
		}
	})

	t.Run("the output is kubeseal's, byte for byte but for the ciphertext", func(t *testing.T) {
		for _, format := range []string{"json", "yaml"} {
			for _, scope := range []string{"strict", "namespace-wide", "cluster-wide"} {
				ours, stderr, err := runBin(t, bin, secret("fmt", "password"), "seal", "--cert", certFile, "-o", format, "--scope", scope)
				if err != nil {
					t.Fatalf("%v: %s", err, stderr)
				}
				theirs, stderr, err := runBin(t, ss.Kubeseal, secret("fmt", "password"), "--cert", certFile, "-o", format, "--scope", scope)
				if err != nil {
					t.Fatalf("kubeseal: %v: %s", err, stderr)
				}
				mask := func(s string) string { return ciphertext.ReplaceAllString(s, "${1}CIPHERTEXT${2}") }
				if mask(ours) != mask(theirs) || !strings.Contains(mask(ours), "CIPHERTEXT") {
					t.Fatalf("%s/%s differs:\n--- latchkey\n%s\n--- kubeseal\n%s", format, scope, ours, theirs)
				}
			}
		}
	})

	t.Run("raw values and merge-into, read back by upstream kubeseal's recovery", func(t *testing.T) {
		valueFile := filepath.Join(dir, "value")
		if err := os.WriteFile(valueFile, []byte(value), 0o600); err != nil {
			t.Fatal(err)
		}
		raw, stderr, err := runBin(t, bin, "", "seal", "--cert", certFile, "--raw", "--namespace", "apps", "--name", "merged", "--from-file", valueFile)
		if err != nil {
			t.Fatalf("%v: %s", err, stderr)
		}
		sealedFile := filepath.Join(dir, "merged.yaml")
		if _, stderr, err := runBin(t, bin, secret("merged", "first"), "seal", "--cert", certFile, "-w", sealedFile); err != nil {
			t.Fatalf("%v: %s", err, stderr)
		}
		if _, stderr, err := runBin(t, bin, secret("merged", "second"), "seal", "--cert", certFile, "--merge-into", sealedFile, "-o", "yaml"); err != nil {
			t.Fatalf("--merge-into: %v: %s", err, stderr)
		}
		data, _ := os.ReadFile(sealedFile)
		var obj map[string]any
		if err := yaml.Unmarshal(data, &obj); err != nil {
			t.Fatal(err)
		}
		enc := obj["spec"].(map[string]any)["encryptedData"].(map[string]any)
		enc["third"] = raw
		withRaw, _ := json.Marshal(obj)
		out, stderr, err := runBin(t, ss.Kubeseal, string(withRaw), "--recovery-unseal", "--recovery-private-key", keyFile, "-o", "json")
		if err != nil {
			t.Fatalf("upstream recovery: %v: %s", err, stderr)
		}
		var s corev1.Secret
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"first", "second", "third"} {
			if string(s.Data[k]) != value {
				t.Errorf("key %s: upstream recovered %q", k, s.Data[k])
			}
		}
		// And Latchkey's own recovery reads what upstream kubeseal sealed.
		theirs, _, err := runBin(t, ss.Kubeseal, secret("theirs", "password"), "--cert", certFile)
		if err != nil {
			t.Fatal(err)
		}
		out, stderr, err = runBin(t, bin, theirs, "seal", "--recovery-unseal", "--recovery-private-key", keyFile)
		if err != nil {
			t.Fatalf("%v: %s", err, stderr)
		}
		if err := json.Unmarshal([]byte(out), &s); err != nil || string(s.Data["password"]) != value {
			t.Fatalf("latchkey recovery: %v %v", err, s.Data)
		}
	})

	t.Run("render unseals with the controller's keys from the cluster or from a key file", func(t *testing.T) {
		sealed, _, err := runBin(t, ss.Kubeseal, secret("db", "password"), "--cert", certFile, "-o", "yaml")
		if err != nil {
			t.Fatal(err)
		}
		mdir := t.TempDir()
		if err := os.WriteFile(filepath.Join(mdir, "db.yaml"), []byte(sealed), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{
			{"render", mdir, "--unseal-from-cluster", "--kubeconfig", kubeconfig},
			{"render", mdir, "--unseal-key", keyFile},
		} {
			out, stderr, err := runBin(t, bin, "", args...)
			if err != nil {
				t.Fatalf("%v: %v: %s", args, err, stderr)
			}
			var obj corev1.Secret
			if err := yaml.Unmarshal([]byte(out), &obj); err != nil {
				t.Fatal(err)
			}
			if obj.Kind != "Secret" || string(obj.Data["password"]) != value || len(obj.OwnerReferences) != 0 {
				t.Fatalf("%v rendered %s", args, out)
			}
		}
		// Without keys the SealedSecret passes through for the in-cluster controller.
		out, _, err := runBin(t, bin, "", "render", mdir)
		if err != nil || !strings.Contains(out, "kind: SealedSecret") {
			t.Fatalf("pass-through: %v\n%s", err, out)
		}
	})
}

// exportKeys writes the controller's key Secrets as a v1 List, the backup
// format kubeseal --recovery-private-key reads.
func exportKeys(t *testing.T, k *testenv.Kube, ss *testenv.SealedSecrets, dir string) string {
	t.Helper()
	list, err := k.Clientset.CoreV1().Secrets(ss.Namespace).List(context.Background(), metav1.ListOptions{LabelSelector: "sealedsecrets.bitnami.com/sealed-secrets-key"})
	if err != nil || len(list.Items) == 0 {
		t.Fatalf("listing the controller's keys: %v (%d)", err, len(list.Items))
	}
	list.APIVersion, list.Kind = "v1", "List"
	for i := range list.Items {
		list.Items[i].APIVersion, list.Items[i].Kind = "v1", "Secret"
	}
	b, err := yaml.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "keys.yaml")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
