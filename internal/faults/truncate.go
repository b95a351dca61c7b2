package faults

import "context"

type truncateKey struct{}

func withTruncate(ctx context.Context) context.Context {
	return context.WithValue(ctx, truncateKey{}, true)
}

func truncating(ctx context.Context) bool {
	v, _ := ctx.Value(truncateKey{}).(bool)
	return v
}
