package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/internal/components"
	"github.com/latchkey-dev/latchkey/promotion"
	"github.com/latchkey-dev/latchkey/render"
	"github.com/latchkey-dev/latchkey/resolver"
	"github.com/latchkey-dev/latchkey/resolver/vault"
)

// The promotion part of the demo: two environments of one app, each a
// namespace with its own Sync, ServiceAccount and Vault paths.
const (
	devNS        = "shop-dev"
	stagingNS    = "shop-staging"
	devSoak      = 3 * time.Second
	verifiedDev  = "verified/dev"
	promoOverlay = "apps/promo/overlays/"
)

// devPromotionNamespaces may use the demo Vault's token (tenancy).
var devPromotionNamespaces = []string{devNS, stagingNS}

// promoApp is the app both environments run: a ConfigMap and a Secret per
// overlay (no Deployment: the demo has no kubelet, so no Pod would ever
// make one available, and verified means healthy). withAPIKey adds the
// reference a later commit introduces.
func promoApp(version string, withAPIKey bool) map[string]string {
	files := map[string]string{}
	for _, env := range []string{"dev", "staging"} {
		secret := `apiVersion: v1
kind: Secret
metadata:
  name: payments
stringData:
  token: <path:secret/data/` + env + `/shop/payments#token>
`
		if withAPIKey {
			secret += "  apikey: <path:secret/data/" + env + "/shop/payments#apikey>\n"
		}
		files[promoOverlay+env+"/payments.yaml"] = secret
		files[promoOverlay+env+"/release.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: release\ndata:\n  version: \"" + version + "\"\n  environment: " + env + "\n"
	}
	return files
}

// runPromotionDemo walks a commit from dev to staging, then a commit whose
// staging secret is missing, held back until the key is written.
func runPromotionDemo(ctx context.Context, d devDriver, v *components.Vault, git *components.GitRepo) error {
	p := promotionDemo{devDriver: d, v: v, git: git}
	r1, err := p.environments()
	if err != nil {
		return err
	}
	if err := p.firstPromotion(r1); err != nil {
		return err
	}
	r2, err := p.heldForAMissingKey()
	if err != nil {
		return err
	}
	return p.keyWrittenPromotes(r2)
}

// promotionDemo is the promotion part's state: the Vault and repository
// both environments use.
type promotionDemo struct {
	devDriver
	v   *components.Vault
	git *components.GitRepo
}

// environments creates the dev and staging namespaces, their secrets and
// the app's first commit.
func (p promotionDemo) environments() (string, error) {
	ctx, d, v, git := p.ctx, p.devDriver, p.v, p.git
	n := d.n
	n.step("Promotion: dev publishes what it verified, staging follows it")
	for _, ns := range []string{devNS, stagingNS} {
		if err := d.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return "", err
		}
		if err := devServiceAccount(ctx, d.c, ns, "shop-deployer"); err != nil {
			return "", err
		}
	}
	for _, env := range []string{"dev", "staging"} {
		if _, err := v.PutKV2(ctx, "secret", env+"/shop/payments", demoPayments(env, "token")); err != nil {
			return "", err
		}
	}
	r1, err := git.Commit("promo app 1.0", promoApp("1.0", false))
	if err != nil {
		return "", err
	}
	n.say("two namespaces, %s and %s, each with its own Sync, ServiceAccount and Vault paths (secret/dev/..., secret/staging/...)", devNS, stagingNS)
	n.say("dev follows main and publishes %s after a %s soak (Ready, healthy, not drifted); staging follows %s", verifiedDev, devSoak, verifiedDev)

	return r1, nil
}

// firstPromotion: dev applies r1 and publishes it after the soak; staging,
// whose secrets exist, takes it.
func (p promotionDemo) firstPromotion(r1 string) error {
	ctx, d, git, n := p.ctx, p.devDriver, p.git, p.n
	dev := &v1alpha1.Sync{
		ObjectMeta: metav1.ObjectMeta{Namespace: devNS, Name: "shop"},
		Spec: v1alpha1.SyncSpec{
			ServiceAccountName: "shop-deployer",
			Source:             v1alpha1.GitSource{URL: git.URL, Path: promoOverlay + "dev", Interval: metav1.Duration{Duration: 2 * time.Second}},
			Mode:               v1alpha1.ModeEnforce,
			Publish:            &v1alpha1.Publish{Ref: verifiedDev, After: &metav1.Duration{Duration: devSoak}},
		},
	}
	if err := d.c.Create(ctx, dev); err != nil {
		return err
	}
	s, err := d.waitSyncIn(devNS, 60*time.Second, "dev to publish "+short(r1), func(s *v1alpha1.Sync) bool {
		return s.Status.Published != nil && s.Status.Published.Revision == r1
	})
	if err != nil {
		return err
	}
	pub := s.Status.Published
	lag := "within a second of" // the status records whole seconds
	if d := pub.PublishedAt.Sub(pub.VerifiedAt.Time); d >= time.Second {
		lag = d.String() + " after"
	}
	n.say("dev applied %s, soaked %s, and moved %s to it %s the soak's end", short(r1), devSoak, verifiedDev, lag)

	staging := &v1alpha1.Sync{
		ObjectMeta: metav1.ObjectMeta{Namespace: stagingNS, Name: "shop"},
		Spec: v1alpha1.SyncSpec{
			ServiceAccountName: "shop-deployer",
			Source: v1alpha1.GitSource{URL: git.URL, Ref: &v1alpha1.GitRef{Branch: verifiedDev}, Path: promoOverlay + "staging",
				Interval: metav1.Duration{Duration: 2 * time.Second}},
			Mode:      v1alpha1.ModeEnforce,
			Promotion: &v1alpha1.Promotion{},
		},
	}
	if err := d.c.Create(ctx, staging); err != nil {
		return err
	}
	s, err = d.waitSyncIn(stagingNS, 60*time.Second, "staging to apply "+short(r1), func(s *v1alpha1.Sync) bool {
		return s.Status.LastAppliedRevision == r1 && ready(s)
	})
	if err != nil {
		return err
	}
	n.say("staging took %s from %s: every reference of its overlay exists in its Vault paths", short(r1), verifiedDev)
	d.describePromotion(s)

	return nil
}

// heldForAMissingKey: a commit references a key staging's Vault lacks;
// dev publishes it, staging holds it back and names the key.
func (p promotionDemo) heldForAMissingKey() (string, error) {
	ctx, d, v, git, n := p.ctx, p.devDriver, p.v, p.git, p.n
	n.step("A commit adds a reference to a key dev has and staging does not")
	if _, err := v.PutKV2(ctx, "secret", "dev/shop/payments", demoPayments("dev", "token", "apikey")); err != nil {
		return "", err
	}
	r2, err := git.Commit("promo app 1.1: the payments API key", promoApp("1.1", true))
	if err != nil {
		return "", err
	}
	n.say("%s adds to both overlays:  apikey: <path:secret/data/ENV/shop/payments#apikey>", short(r2))
	if err := d.promoteCheck(ctx, v, git, r2); err != nil {
		return "", err
	}
	if _, err := d.waitSyncIn(devNS, 60*time.Second, "dev to publish "+short(r2), func(s *v1alpha1.Sync) bool {
		return s.Status.Published != nil && s.Status.Published.Revision == r2
	}); err != nil {
		return "", err
	}
	n.say("dev applied %s and published it to %s", short(r2), verifiedDev)
	s, err := d.waitSyncIn(stagingNS, 60*time.Second, "staging to hold "+short(r2)+" back", func(s *v1alpha1.Sync) bool {
		c := apimeta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionPromotionPending)
		return c != nil && c.Status == metav1.ConditionTrue && c.Reason == v1alpha1.ReasonSecretsMissing
	})
	if err != nil {
		return "", err
	}
	c := apimeta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionPromotionPending)
	n.say("staging: PromotionPending=True (%s): %s", c.Reason, c.Message)
	var cm corev1.ConfigMap
	if err := d.c.Get(ctx, client.ObjectKey{Namespace: stagingNS, Name: "release"}, &cm); err != nil {
		return "", err
	}
	n.say("staging keeps %s: ConfigMap release still says version %s; Ready: %s", short(s.Status.LastAppliedRevision), cm.Data["version"], readyMessage(s))

	return r2, nil
}

// keyWrittenPromotes: once the key is written, staging takes the held
// revision by itself.
func (p promotionDemo) keyWrittenPromotes(r2 string) error {
	ctx, d, v, n := p.ctx, p.devDriver, p.v, p.n
	n.step("Someone writes the key into staging's Vault")
	written := time.Now()
	if _, err := v.PutKV2(ctx, "secret", "staging/shop/payments", demoPayments("staging", "token", "apikey")); err != nil {
		return err
	}
	s, err := d.waitSyncIn(stagingNS, 60*time.Second, "staging to apply "+short(r2), func(s *v1alpha1.Sync) bool {
		return s.Status.LastAppliedRevision == r2 && ready(s)
	})
	if err != nil {
		return err
	}
	var cm corev1.ConfigMap
	if err := d.c.Get(ctx, client.ObjectKey{Namespace: stagingNS, Name: "release"}, &cm); err != nil {
		return err
	}
	n.say("staging took %s %s after the key was written; ConfigMap release says version %s", short(r2), time.Since(written).Round(time.Millisecond), cm.Data["version"])
	d.describePromotion(s)
	n.say("production would follow verified/staging the same way, with spec.promotion.approval: try  latchkey approve --help")
	return nil
}

// promoteCheck shows what `latchkey promote --check` tells a pull request
// about staging, before the controller ever sees the commit.
func (d devDriver) promoteCheck(ctx context.Context, v *components.Vault, git *components.GitRepo, rev string) error {
	tree, err := openRevision(ctx, git.URL, rev)
	if err != nil {
		return err
	}
	res, err := render.FS(ctx, tree.fsys, promoOverlay+"staging", render.Options{})
	if err != nil {
		return err
	}
	b, err := vault.New(devVaultConfig(v))
	if err != nil {
		return err
	}
	rep, err := promotion.CheckWith(ctx, res, resolver.New(b, resolver.Options{}))
	if err != nil {
		return err
	}
	d.n.say("in CI, latchkey promote --check --revision %s %sstaging (against staging's Vault) says:", short(rev), promoOverlay)
	for _, m := range rep.Missing {
		d.n.say("  %s", m)
	}
	for _, s := range promotion.NextSteps(rep.Missing) {
		d.n.say("    %s", s)
	}
	return nil
}

func (d devDriver) describePromotion(s *v1alpha1.Sync) {
	if len(s.Status.Promotions) == 0 {
		return
	}
	p := s.Status.Promotions[0]
	waited := "nothing"
	if len(p.WaitedFor) > 0 {
		waited = strings.Join(p.WaitedFor, ", ")
	}
	var secrets []string
	for _, v := range p.Secrets {
		secrets = append(secrets, fmt.Sprintf("%s v%d", v.Reference, v.Version))
	}
	d.n.say("status.promotions[0]: %s from %s at %s, waited for %s; secrets verified: %s",
		short(p.Revision), p.From, p.PromotedAt.Format(time.TimeOnly), waited, strings.Join(secrets, ", "))
}

func (d devDriver) waitSyncIn(namespace string, timeout time.Duration, what string, done func(*v1alpha1.Sync) bool) (*v1alpha1.Sync, error) {
	var s v1alpha1.Sync
	err := d.poll(timeout, what, func() (bool, error) {
		if err := d.c.Get(d.ctx, client.ObjectKey{Namespace: namespace, Name: "shop"}, &s); err != nil {
			return false, err
		}
		return done(&s), nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w; Ready: %s", err, readyMessage(&s))
	}
	return &s, nil
}

// demoPayments is the demo's payments secret of env with keys: made-up
// values, each "demo-ENV-KEY", so the narration can show which one a Secret got.
func demoPayments(env string, keys ...string) map[string]any {
	data := make(map[string]any, len(keys))
	for _, k := range keys {
		data[k] = "demo-" + env + "-" + k
	}
	return data
}
