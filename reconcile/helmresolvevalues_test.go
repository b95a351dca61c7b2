package reconcile_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
)

// resolveValuesChart hashes a password value into its pod template (so pods
// roll when it changes), writes it b64enc | quote into a Secret, and, when
// asked to, fails quoting it.
var resolveValuesChart = map[string]string{
	"db/Chart.yaml":  "apiVersion: v2\nname: db\nversion: 0.1.0\n",
	"db/values.yaml": "password: <path:secret/data/shop/db#password>\nbreak: false\n",
	"db/templates/secret.yaml": `apiVersion: v1
kind: Secret
metadata: {name: {{ .Release.Name }}-db}
data:
  password: {{ .Values.password | b64enc | quote }}
`,
	"db/templates/deployment.yaml": `{{- if .Values.break }}{{ fail (printf "refusing password %s" .Values.password) }}{{ end }}
apiVersion: apps/v1
kind: Deployment
metadata: {name: {{ .Release.Name }}}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata:
      labels: {app: db}
      annotations:
        checksum/password: {{ .Values.password | sha256sum }}
    spec:
      containers:
      - name: db
        image: postgres
        envFrom: [{secretRef: {name: {{ .Release.Name }}-db}}]
`,
}

// With spec.render.helm.resolveValues the chart sees the Vault value: the
// Secret holds it, the pod template's checksum is of it and changes when
// Vault rotates it, and the value is nowhere else: not in the status, the
// events, the logs, nor a template error that quotes it.
func TestHelmResolveValues(t *testing.T) {
	ctx := context.Background()
	const canary = "canary-7f3e9b1c-helm-values"
	const rotated = "canary-rotated-0b9d44e2-helm-values"
	sc := newScenario(t, "charts", withVault())
	sc.vault.PutKV2(t, "secret", "shop/db", map[string]any{"password": canary})
	rev := sc.repo.Commit(t, "chart", resolveValuesChart)
	startController(t, sc.kube, sc.vaultConfig())
	sc.kube.CreateNamespace(t, "shop")
	sync := sc.gitSync("shop", "db", "db", time.Hour)
	sync.Spec.Render = v1alpha1.Render{Type: v1alpha1.RenderHelm, Helm: &v1alpha1.HelmRender{
		HelmValueResolution: v1alpha1.HelmValueResolution{ResolveValues: true},
	}}
	sync.Spec.Rotation = v1alpha1.Rotation{Interval: &metav1.Duration{Duration: time.Second}}
	sc.create(t, sync)
	sc.waitApplied(t, "the chart applied", "shop", "db", rev)

	checksum := func() (string, string) {
		var sec corev1.Secret
		if err := sc.c.Get(ctx, client.ObjectKey{Namespace: "shop", Name: "db-db"}, &sec); err != nil {
			t.Fatal(err)
		}
		var dep appsv1.Deployment
		if err := sc.c.Get(ctx, client.ObjectKey{Namespace: "shop", Name: "db"}, &dep); err != nil {
			t.Fatal(err)
		}
		return string(sec.Data["password"]), dep.Spec.Template.Annotations["checksum/password"]
	}
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

	t.Run("the chart saw the value: the Secret holds it, the checksum is of it", func(t *testing.T) {
		password, check := checksum()
		if password != canary || check != sum(canary) {
			t.Errorf("Secret %q, checksum %q (want the Vault value and its sha256)", password, check)
		}
		s := getSync(t, sc.c, "shop", "db")
		found := false
		if len(s.Status.History) == 0 {
			t.Fatal("no history")
		}
		for _, v := range s.Status.History[0].Secrets {
			found = found || (strings.Contains(v.Object, "Helm values") && v.Reference == "secret/data/shop/db#password" && v.Version == 1 && v.HMAC != "")
		}
		if !found {
			t.Errorf("the status records no version and HMAC of the values' reference: %+v", s.Status.History[0].Secrets)
		}
	})

	t.Run("a rotation in Vault renders again: the checksum follows", func(t *testing.T) {
		sc.vault.PutKV2(t, "secret", "shop/db", map[string]any{"password": rotated})
		eventually(t, 60*time.Second, "the rotated value applied", func() error {
			if password, check := checksum(); password != rotated || check != sum(rotated) {
				return fmt.Errorf("Secret %q, checksum %q", password, check)
			}
			return nil
		})
	})

	t.Run("a template error quoting the value is redacted", func(t *testing.T) {
		s := getSync(t, sc.c, "shop", "db")
		patch := client.MergeFrom(s.DeepCopy())
		s.Spec.Render.Helm.Values = &apiextensionsv1.JSON{Raw: []byte(`{"break":true}`)}
		if err := sc.c.Patch(ctx, s, patch); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, "the render failure in the status", func() error {
			ready := condition(getSync(t, sc.c, "shop", "db"), v1alpha1.ConditionReady)
			if !strings.Contains(ready, "refusing password") {
				return fmt.Errorf("Ready %s", ready)
			}
			if strings.Contains(ready, rotated) {
				t.Errorf("the status quotes the value: %s", ready)
			}
			return nil
		})
	})

	t.Run("canary: the values are in no status, event or log", func(t *testing.T) {
		evs, err := sc.kube.Clientset.EventsV1().Events("").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		coreEvs, err := sc.kube.Clientset.CoreV1().Events("").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var dep appsv1.Deployment
		if err := sc.c.Get(ctx, client.ObjectKey{Namespace: "shop", Name: "db"}, &dep); err != nil {
			t.Fatal(err)
		}
		e1, _ := json.Marshal(evs)
		e2, _ := json.Marshal(coreEvs)
		st, _ := json.Marshal(getSync(t, sc.c, "shop", "db"))
		d, _ := json.Marshal(dep)
		channels := map[string]string{"events": string(e1), "core events": string(e2), "Sync": string(st), "logs": logs.String(), "Deployment": string(d)}
		if !strings.Contains(channels["Sync"], "refusing password") {
			t.Fatal("the Sync holds no render error: the search would prove nothing")
		}
		for name, text := range channels {
			for _, c := range []string{canary, rotated, base64.StdEncoding.EncodeToString([]byte(canary)), base64.StdEncoding.EncodeToString([]byte(rotated))} {
				if strings.Contains(text, c) {
					t.Errorf("%s hold a resolved value (%q)", name, c[:14])
				}
			}
		}
	})
}
