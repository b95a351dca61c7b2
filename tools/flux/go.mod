// Flux's source-controller and kustomize-controller, built only for
// bench/reconcile (tools/install.sh flux), never by the default tools set.
// Their mains are at their module roots, so they are built as packages of this
// module; their own replaces do not carry over and are restated here, plus a
// pin of kustomize to the version both were released with.
module github.com/latchkey-dev/latchkey/tools/flux

go 1.26.0

require (
	github.com/fluxcd/kustomize-controller v1.9.6
	github.com/fluxcd/source-controller v1.9.6
)

replace (
	github.com/fluxcd/pkg/artifact => github.com/fluxcd/pkg/artifact v0.18.0
	github.com/opencontainers/go-digest => github.com/opencontainers/go-digest v1.0.1-0.20220411205349-bde1400a84be
	gopkg.in/yaml.v3 => gopkg.in/yaml.v3 v3.0.1
	sigs.k8s.io/kustomize/api => sigs.k8s.io/kustomize/api v0.21.1
	sigs.k8s.io/kustomize/kyaml => sigs.k8s.io/kustomize/kyaml v0.21.1
)
