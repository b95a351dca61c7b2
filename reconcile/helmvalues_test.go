package reconcile_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/config"
	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// TestHelmInlineValues: spec.render.helm.values is merged over the values
// files listed in the Sync, so editing it changes what is applied, down to
// which Vault secret a chart resolves; values that are not a map stall the
// Sync and leave the applied objects as they are.
func TestHelmInlineValues(t *testing.T) {
	if testing.Short() {
		t.Skip("starts kube-apiserver, etcd, Vault and Git")
	}
	ctx := context.Background()
	kube := testenv.StartKube(t, testenv.WithScheme(v1alpha1.AddToScheme))
	c := kube.Client
	vault := testenv.StartVault(t)
	vault.PutKV2(t, "secret", "shop/blue", map[string]any{"password": "blue-password"})
	vault.PutKV2(t, "secret", "shop/red", map[string]any{"password": "red-password"})
	repo := testenv.StartGitServer(t).NewRepo(t, "charts")
	repo.Commit(t, "chart", map[string]string{
		"shop/Chart.yaml":        "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
		"shop/values.yaml":       "color: blue\nsize: small\ndb: shop/blue\n",
		"shop/values-prod.yaml":  "size: large\n",
		"shop/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}-settings}\ndata:\n  color: {{ .Values.color | quote }}\n  size: {{ .Values.size | quote }}\n",
		"shop/templates/db.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: {{ .Release.Name }}-db}\nstringData:\n  password: <path:secret/data/{{ .Values.db }}#password>\n",
	})
	startController(t, kube, &config.Vault{
		Address: vault.Addr, Timeout: 5 * time.Second, Concurrency: 4,
		Auth: config.VaultAuth{Method: config.VaultAuthToken, Token: config.Sensitive(vault.RootToken)},
	})
	kube.CreateNamespace(t, "shop")
	sync := &v1alpha1.Sync{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
		Spec: v1alpha1.SyncSpec{
			Source: v1alpha1.GitSource{URL: repo.URL, Path: "shop", Interval: metav1.Duration{Duration: time.Hour}},
			Render: v1alpha1.Render{Type: v1alpha1.RenderHelm, Helm: &v1alpha1.HelmRender{
				ValuesFiles: []string{"values-prod.yaml"},
				Values:      &apiextensionsv1.JSON{Raw: []byte(`{"color":"green"}`)},
			}},
		},
	}
	if err := c.Create(ctx, sync); err != nil {
		t.Fatal(err)
	}

	applied := func() (map[string]string, string) {
		var cm corev1.ConfigMap
		if err := c.Get(ctx, client.ObjectKey{Namespace: "shop", Name: "web-settings"}, &cm); err != nil {
			return nil, err.Error()
		}
		var sec corev1.Secret
		if err := c.Get(ctx, client.ObjectKey{Namespace: "shop", Name: "web-db"}, &sec); err != nil {
			return cm.Data, err.Error()
		}
		return cm.Data, string(sec.Data["password"])
	}
	setValues := func(t *testing.T, raw string) {
		t.Helper()
		s := getSync(t, c, "shop", "web")
		patch := client.MergeFrom(s.DeepCopy())
		s.Spec.Render.Helm.Values = &apiextensionsv1.JSON{Raw: []byte(raw)}
		if err := c.Patch(ctx, s, patch); err != nil {
			t.Fatal(err)
		}
	}

	steps := []struct {
		name     string
		values   string // "" keeps the Sync as created
		color    string
		size     string
		password string
	}{
		{name: "inline values over the chart's values and the listed values file",
			color: "green", size: "large", password: "blue-password"},
		{name: "editing the inline values applies them, including the Vault path they choose",
			values: `{"color":"red","db":"shop/red"}`, color: "red", size: "large", password: "red-password"},
		{name: "inline values win over a listed values file",
			values: `{"color":"red","db":"shop/red","size":"tiny"}`, color: "red", size: "tiny", password: "red-password"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.values != "" {
				setValues(t, st.values)
			}
			eventually(t, 60*time.Second, "the values applied", func() error {
				data, password := applied()
				if data["color"] != st.color || data["size"] != st.size || password != st.password {
					s := getSync(t, c, "shop", "web")
					return fmt.Errorf("ConfigMap %v, password %q; Ready %s", data, password, condition(s, v1alpha1.ConditionReady))
				}
				return nil
			})
		})
	}

	t.Run("values that are not a map stall the Sync and change nothing", func(t *testing.T) {
		setValues(t, `"just a string"`)
		eventually(t, 30*time.Second, "Stalled", func() error {
			s := getSync(t, c, "shop", "web")
			stalled := condition(s, v1alpha1.ConditionStalled)
			if !strings.HasPrefix(stalled, "True/"+v1alpha1.ReasonConfigInvalid) || !strings.Contains(stalled, "spec.render.helm.values") {
				return fmt.Errorf("Stalled %s", stalled)
			}
			return nil
		})
		if data, password := applied(); data["color"] != "red" || password != "red-password" {
			t.Errorf("the last good state changed: %v %q", data, password)
		}
	})
}
