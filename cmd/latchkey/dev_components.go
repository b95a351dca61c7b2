package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	ssv1alpha1 "github.com/bitnami-labs/sealed-secrets/pkg/apis/sealedsecrets/v1alpha1"
	sscrypto "github.com/bitnami-labs/sealed-secrets/pkg/crypto"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/latchkey-dev/latchkey/config"
	"github.com/latchkey-dev/latchkey/internal/components"
	"github.com/latchkey-dev/latchkey/reconcile"
	"github.com/latchkey-dev/latchkey/sealing"
)

// devKube starts kube-apiserver and etcd with the Sync CRD of the checkout
// the demo runs in (make demo runs from it) and writes an admin kubeconfig
// into dir.
func devKube(dir string) (*components.Kube, error) {
	scheme, err := reconcile.Scheme()
	if err != nil {
		return nil, err
	}
	crds, err := components.ChartCRDs()
	if err != nil {
		return nil, fmt.Errorf("latchkey dev installs charts/latchkey/crds: %w", err)
	}
	k := &components.Kube{Scheme: scheme, CRDPaths: []string{crds}}
	if err := k.Start(); err != nil {
		return nil, errors.Join(err, k.Stop())
	}
	if err := os.WriteFile(filepath.Join(dir, "kubeconfig"), components.Kubeconfig(k.Config), 0o600); err != nil {
		return nil, errors.Join(err, k.Stop())
	}
	return k, nil
}

// devVault starts a Vault dev server whose output goes to dir/vault.log.
func devVault(ctx context.Context, dir string) (*components.Vault, func(), error) {
	logf, err := os.Create(filepath.Join(dir, "vault.log"))
	if err != nil {
		return nil, nil, err
	}
	v := &components.Vault{Dir: dir, Output: logf}
	stop := func() { _ = v.Stop(); logf.Close() }
	if err := v.Start(ctx); err != nil {
		stop()
		return nil, nil, err
	}
	return v, stop, nil
}

// devVaultConfig is how the demo's controller reaches the dev Vault.
func devVaultConfig(v *components.Vault) *config.Vault {
	return &config.Vault{Address: v.Addr, Timeout: 10 * time.Second, MaxRetries: 1, Concurrency: 8,
		Auth: config.VaultAuth{Method: config.VaultAuthToken, Token: config.Sensitive(v.RootToken)}}
}

// devGit serves the demo's repository over smart HTTP with the real git
// http-backend, with its working clone in dir/work.
func devGit(dir string) (*components.GitRepo, func(), error) {
	root := filepath.Join(dir, "git")
	if err := os.Mkdir(root, 0o700); err != nil {
		return nil, nil, err
	}
	srv := &components.GitServer{Root: root}
	if err := srv.Start(); err != nil {
		return nil, nil, err
	}
	stop := func() { _ = srv.Stop() }
	repo, err := srv.NewRepo("demo", filepath.Join(dir, "work"))
	if err != nil {
		stop()
		return nil, nil, err
	}
	return repo, stop, nil
}

// devSealedSecret creates a sealing key Secret in kube-system, as the
// sealed-secrets controller does at its first start, and returns a
// SealedSecret manifest (strict scope) of name in namespace.
func devSealedSecret(ctx context.Context, c client.Client, namespace, name, key, value string) (string, error) {
	priv, cert, err := sscrypto.GeneratePrivateKeyAndCert(2048, 24*time.Hour, "latchkey-dev")
	if err != nil {
		return "", err
	}
	keySecret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: sealing.DefaultControllerNamespace, GenerateName: "sealed-secrets-key",
			Labels: map[string]string{sealing.KeyLabel: "active"}},
		Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{
			corev1.TLSCertKey:       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}),
			corev1.TLSPrivateKeyKey: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)}),
		},
	}
	if err := c.Create(ctx, keySecret); err != nil {
		return "", fmt.Errorf("creating the sealing key: %w", err)
	}
	ct, err := sealing.SealRaw([]byte(value), namespace, name, ssv1alpha1.StrictScope, &priv.PublicKey)
	if err != nil {
		return "", err
	}
	ss := map[string]any{
		"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
		"metadata": map[string]any{"name": name, "namespace": namespace},
		"spec":     map[string]any{"encryptedData": map[string]any{key: ct}},
	}
	b, err := yaml.Marshal(ss)
	return string(b), err
}

// devApp is the reference-only app the demo commits.
// devServiceAccount creates the ServiceAccount a Sync of namespace acts as,
// with a Role over the demo app's kinds in that namespace only, as a
// platform team gives each team (docs/tenancy.md).
func devServiceAccount(ctx context.Context, c client.Client, namespace, name string) error {
	all := []string{"get", "list", "watch", "create", "patch", "delete"}
	for _, o := range []client.Object{
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}},
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"secrets", "configmaps"}, Verbs: all},
			{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: all},
		}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: name}}},
	} {
		if err := c.Create(ctx, o); err != nil {
			return fmt.Errorf("creating the demo's ServiceAccount and Role: %w", err)
		}
	}
	return nil
}

func devApp(sealedToken string) map[string]string {
	return map[string]string{
		"apps/shop/settings.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  color: blue\n",
		"apps/shop/db.yaml": `apiVersion: v1
kind: Secret
metadata:
  name: db
stringData:
  username: <path:secret/data/demo/db#username>
  password: <path:secret/data/demo/db#password>
`,
		"apps/shop/api-token.yaml": sealedToken,
		"apps/shop/web.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: registry.example/shop-web:1.0
        envFrom:
        - configMapRef: {name: settings}
        env:
        - name: DB_PASSWORD
          valueFrom: {secretKeyRef: {name: db, key: password}}
        - name: API_TOKEN
          valueFrom: {secretKeyRef: {name: api-token, key: token}}
`,
	}
}
