package scanner

// check is a manifest- or line-aware detector: its rule ID, and what to tell
// the user to do instead.
type check struct {
	id       string
	fix      string
	priority int
}

var (
	checkSecret = check{"kubernetes-secret", "replace the value with a Vault reference: stringData: <path:secret/data/%[1]s#%[2]s> " +
		"(or base64 of it under data), or seal it: latchkey seal", 3}
	checkDockerConfig = check{"kubernetes-dockerconfig", "do not commit registry credentials: reference them, " +
		`e.g. .dockerconfigjson: <path:secret/data/%[1]s#dockerconfigjson>, or seal the Secret: latchkey seal`, 3}
	checkEnv = check{"env-literal", "take the value from a Secret: valueFrom.secretKeyRef {name: %[1]s, key: %[2]s}, " +
		"with the Secret holding <path:secret/data/%[1]s#%[2]s>", 3}
	checkConfigMap = check{"configmap-secret", "move %[2]s out of the ConfigMap into a Secret that holds a reference " +
		"<path:secret/data/%[1]s#%[2]s>", 3}
	checkHelmValues = check{"helm-values-secret", "leave the value empty and point the chart at a Secret (existingSecret), " +
		"or use a reference <path:secret/data/%[1]s#%[2]s>", 3}
	checkArgoParameter = check{"argocd-helm-parameter", "do not pass secrets as Helm parameters: use the chart's existingSecret, " +
		"or a reference <path:secret/data/%[1]s#%[2]s> rendered by the plugin", 3}
	checkKustomize = check{"kustomize-secret-generator", "generate the Secret from a reference instead of a literal: " +
		"%[2]s=<path:secret/data/%[1]s#%[2]s>, or seal it: latchkey seal", 3}
	checkSealed = check{"sealedsecret-plaintext", "a SealedSecret must carry only ciphertext: seal the value with " +
		"latchkey seal (or kubeseal) and drop it from spec.template", 3}
	checkSOPS = check{"sops-unencrypted", "encrypt the file again with sops so this key is ENC[...] " +
		"(check encrypted_regex / unencrypted_suffix in .sops.yaml)", 3}
	checkAssignment = check{"secret-assignment", "replace the literal with a reference <path:secret/data/%[1]s#%[2]s> " +
		"or read it from the environment at run time", 2}
	checkCredentialFile = check{"credential-file", "keep this file out of Git: generate it at deploy time from a Secret " +
		"(<path:secret/data/%[1]s#%[2]s>) or a CI secret, and commit a template without the values", 3}
	checkDotenv = check{"dotenv-secret", "keep .env files with real values out of Git (.gitignore), commit an example " +
		"with empty values, and reference <path:secret/data/%[1]s#%[2]s>", 2}
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
