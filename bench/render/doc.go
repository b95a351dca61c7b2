// Package render benchmarks `latchkey render`'s resolution against a real
// Vault: 1,000 objects holding 5,000 placeholders over 200 distinct secret
// paths, with the Vault requests counted at the server by its audit log,
// next to argocd-vault-plugin's model of one read per placeholder.
//
//	go test -run TestRenderBudget -v ./bench/render/     # the figures, once
//	go test -run '^$' -bench . -benchmem ./bench/render/ # Go benchmarks
package render
