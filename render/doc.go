// Package render turns a directory of manifests into Kubernetes objects:
// plain YAML and JSON files (recursively), a Kustomize kustomization (in
// process, sigs.k8s.io/kustomize/api) or a Helm chart (in process,
// helm.sh/helm/v3), detected from the directory or forced. The CLI renders a
// directory on disk (Dir) or a stream (Stream); the controller renders a
// fs.FS holding a Git snapshot (FS). Objects keep the file and line they came
// from where it is known, for error messages. Rendering never resolves
// references: that is package resolver's job, on the objects returned here.
package render
