package v1alpha1

// HelmValueResolution is how references written in a chart's values are
// resolved (inlined in HelmRender).
type HelmValueResolution struct {
	// ResolveValues resolves the references written in the chart's
	// values (its values.yaml, valuesFiles, values) before templating, in
	// memory, so the chart sees the real value: a checksum annotation, a
	// b64enc, a connection string or an htpasswd built from it are right.
	// The values travel to the render worker over a pipe, never a file,
	// argument or environment variable. What the chart renders then goes
	// through the same placement rules as any resolved value: outside a
	// Secret's data only with allowValuesOutsideSecrets, never in metadata.
	// A rotation of a referenced Vault secret renders the chart again.
	// Off, references are resolved after templating, where the chart wrote
	// them through unchanged.
	// +optional
	ResolveValues bool `json:"resolveValues,omitempty"`
}

// HelmChartSource renders a chart from a Helm chart repository instead of
// one in Git ("upstream chart, our values in Git"): the Git source still
// provides the values (spec.render.helm.valuesFiles are read from its
// path) and the revision; the chart is fetched at the version given, from
// a host the controller allows (--allow-remote-hosts).
type HelmChartSource struct {
	// Repository is the chart repository's URL (its index.yaml is read
	// from there), e.g. https://charts.bitnami.com/bitnami, or an OCI
	// registry's repository, e.g. oci://registry-1.docker.io/bitnamicharts.
	// +kubebuilder:validation:Pattern=`^(https?|oci)://`
	Repository string `json:"repository"`
	// Chart is the chart's name in the repository.
	// +kubebuilder:validation:MinLength=1
	Chart string `json:"chart"`
	// Version is an exact version, or a range (">=1.2 <2") of which the
	// newest the repository lists is used. Empty: the newest stable.
	// +optional
	Version string `json:"version,omitempty"`
	// Digest pins the archive ("sha256:<hex>"; for OCI, the manifest's
	// digest): another one under the same version is refused.
	// +kubebuilder:validation:Pattern=`^sha256:[a-f0-9]{64}$`
	// +optional
	Digest string `json:"digest,omitempty"`
}
