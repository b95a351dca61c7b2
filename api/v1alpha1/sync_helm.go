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
