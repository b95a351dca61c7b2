package reconcile_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
)

// TestHelmInlineValues: spec.render.helm.values is merged over the values
// files listed in the Sync, so editing it changes what is applied, down to
// which Vault secret a chart resolves; values that are not a map stall the
// Sync and leave the applied objects as they are.
func TestHelmInlineValues(t *testing.T) {
	ctx := context.Background()
	sc := newScenario(t, "charts", withVault())
	sc.vault.PutKV2(t, "secret", "shop/blue", map[string]any{"password": "blue-password"})
	sc.vault.PutKV2(t, "secret", "shop/red", map[string]any{"password": "red-password"})
	sc.repo.Commit(t, "chart", map[string]string{
		"shop/Chart.yaml":        "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
		"shop/values.yaml":       "color: blue\nsize: small\ndb: shop/blue\n",
		"shop/values-prod.yaml":  "size: large\n",
		"shop/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}-settings}\ndata:\n  color: {{ .Values.color | quote }}\n  size: {{ .Values.size | quote }}\n",
		"shop/templates/db.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: {{ .Release.Name }}-db}\nstringData:\n  password: <path:secret/data/{{ .Values.db }}#password>\n",
	})
	startController(t, sc.kube, sc.vaultConfig())
	sc.kube.CreateNamespace(t, "shop")
	sync := sc.gitSync("shop", "web", "shop", time.Hour)
	sync.Spec.Render = v1alpha1.Render{Type: v1alpha1.RenderHelm, Helm: &v1alpha1.HelmRender{
		ValuesFiles: []string{"values-prod.yaml"},
		Values:      &apiextensionsv1.JSON{Raw: []byte(`{"color":"green"}`)},
	}}
	sc.create(t, sync)

	applied := func() (map[string]string, string) {
		var cm corev1.ConfigMap
		if err := sc.c.Get(ctx, client.ObjectKey{Namespace: "shop", Name: "web-settings"}, &cm); err != nil {
			return nil, err.Error()
		}
		var sec corev1.Secret
		if err := sc.c.Get(ctx, client.ObjectKey{Namespace: "shop", Name: "web-db"}, &sec); err != nil {
			return cm.Data, err.Error()
		}
		return cm.Data, string(sec.Data["password"])
	}
	setValues := func(t *testing.T, raw string) {
		t.Helper()
		s := getSync(t, sc.c, "shop", "web")
		patch := client.MergeFrom(s.DeepCopy())
		s.Spec.Render.Helm.Values = &apiextensionsv1.JSON{Raw: []byte(raw)}
		if err := sc.c.Patch(ctx, s, patch); err != nil {
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
					s := getSync(t, sc.c, "shop", "web")
					return fmt.Errorf("ConfigMap %v, password %q; Ready %s", data, password, condition(s, v1alpha1.ConditionReady))
				}
				return nil
			})
		})
	}

	t.Run("values that are not a map stall the Sync and change nothing", func(t *testing.T) {
		setValues(t, `"just a string"`)
		eventually(t, 30*time.Second, "Stalled", func() error {
			s := getSync(t, sc.c, "shop", "web")
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
