package scanner

// check is a manifest- or line-aware detector: its rule ID, and what to tell
// the user to do instead.
type check struct {
	id       string
	fix      string
	priority int
}

var (
	checkSecret = check{"kubernetes-secret", "store the value in Vault (vault kv put secret/%[1]s %[2]s=- reads it from standard input) " +
		"and replace it with the reference stringData: {%[2]s: <path:secret/data/%[1]s#%[2]s>} (or its base64 under data); " +
		"or seal the file: latchkey seal -f %[3]s -w %[4]s, then git rm --cached %[3]s", 3}
	checkDockerConfig = check{"kubernetes-dockerconfig", "do not commit registry credentials: store them (vault kv put secret/%[1]s dockerconfigjson=@config.json) " +
		`and reference them, .dockerconfigjson: <path:secret/data/%[1]s#dockerconfigjson>, or seal the Secret: latchkey seal -f %[3]s -w %[4]s`, 3}
	checkEnv = check{"env-literal", "store the value (vault kv put secret/%[1]s %[2]s=-) and take it from a Secret: valueFrom.secretKeyRef {name: %[1]s, key: %[2]s}, " +
		"with the Secret holding <path:secret/data/%[1]s#%[2]s>", 3}
	checkConfigMap = check{"configmap-secret", "store the value (vault kv put secret/%[1]s %[2]s=-) and move %[2]s out of the ConfigMap into a Secret that holds a reference " +
		"<path:secret/data/%[1]s#%[2]s>", 3}
	checkHelmValues = check{"helm-values-secret", "leave the value empty and point the chart at a Secret (existingSecret), " +
		"or store it (vault kv put secret/%[1]s %[2]s=-) and use the reference <path:secret/data/%[1]s#%[2]s>", 3}
	checkArgoParameter = check{"argocd-helm-parameter", "do not pass secrets as Helm parameters: use the chart's existingSecret, " +
		"or a reference <path:secret/data/%[1]s#%[2]s> rendered by the plugin", 3}
	checkKustomize = check{"kustomize-secret-generator", "generate the Secret from a reference instead of a literal: " +
		"%[2]s=<path:secret/data/%[1]s#%[2]s> (store the value: vault kv put secret/%[1]s %[2]s=-), or seal it: latchkey seal", 3}
	checkSealed = check{"sealedsecret-plaintext", "a SealedSecret must carry only ciphertext: drop %[2]s from spec.template, " +
		"put the value in a Secret %[1]s outside the repository and seal it into this file: latchkey seal --merge-into %[3]s -f SECRET_FILE", 3}
	checkSOPS = check{"sops-unencrypted", "encrypt the file again so %[2]s is ENC[...]: sops --encrypt --in-place %[3]s " +
		"(check encrypted_regex / unencrypted_suffix in .sops.yaml)", 3}
	checkAssignment = check{"secret-assignment", "store the value (vault kv put secret/%[1]s %[2]s=-) and replace the literal with the reference <path:secret/data/%[1]s#%[2]s> " +
		"or read it from the environment at run time", 2}
	checkCredentialFile = check{"credential-file", "keep this file out of Git (git rm --cached %[3]s): generate it at deploy time from a Secret " +
		"(store the value: vault kv put secret/%[1]s %[2]s=-, referenced as <path:secret/data/%[1]s#%[2]s>) or a CI secret, and commit a template without the values", 3}
	checkDotenv = check{"dotenv-secret", "keep files with real values out of Git (git rm --cached %[3]s, and .gitignore it), commit an example " +
		"with empty values, and store the value (vault kv put secret/%[1]s %[2]s=-) to reference as <path:secret/data/%[1]s#%[2]s>", 2}
)

// checkDescriptions say what each manifest- and line-aware check detects.
var checkDescriptions = map[string]string{
	checkSecret.id:         "A Kubernetes Secret's data or stringData value is plaintext (data is only base64-encoded), not a Vault reference.",
	checkDockerConfig.id:   "A Secret's .dockerconfigjson or .dockercfg carries registry credentials in plaintext.",
	checkEnv.id:            "A container env variable (or name/value parameter) whose name says secret has a literal value.",
	checkConfigMap.id:      "A ConfigMap key whose name says secret holds a literal value; ConfigMaps are not even meant for secrets.",
	checkHelmValues.id:     "A Helm values key such as password, token, apiKey or credentials holds a literal value.",
	checkArgoParameter.id:  "An Argo CD Application passes a secret-named Helm parameter as a literal.",
	checkKustomize.id:      "A Kustomize secretGenerator literal, env file or file is plaintext.",
	checkSealed.id:         "A SealedSecret carries plaintext: in spec.template, or encryptedData that is not ciphertext.",
	checkSOPS.id:           "A SOPS-encrypted file has a secret-named key that is not encrypted (not ENC[...]).",
	checkAssignment.id:     "A key or variable whose name says secret is assigned a literal value.",
	checkCredentialFile.id: "A credential file (.pgpass, htpasswd, rsyncd.secrets, pgbouncer userlist, a key file) holds a plaintext password or key.",
	checkDotenv.id:         "An env, properties or shell file assigns a literal value to a secret-named variable.",
}

// Rules describes every rule the scanner can report, by ID.
func (s *Scanner) Rules() map[string]string {
	out := make(map[string]string, len(checkDescriptions)+len(s.rules.Rules()))
	for id, d := range checkDescriptions {
		out[id] = d
	}
	for _, r := range s.rules.Rules() {
		out[r.ID] = r.Description
	}
	return out
}
