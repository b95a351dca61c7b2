package config

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"
)

// ByteSize is a flag holding a number of bytes, written as a Kubernetes
// quantity (64Mi, 1Gi, 500M or a plain number), as in the chart's values.
type ByteSize int64

// ParseByteSize reads a quantity of bytes; it must be a positive whole number.
func ParseByteSize(s string) (ByteSize, error) {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size such as 64Mi or 1Gi", s)
	}
	n, ok := q.AsInt64()
	if !ok || n <= 0 {
		return 0, fmt.Errorf("%q is not a positive whole number of bytes", s)
	}
	return ByteSize(n), nil
}

// String writes the size as a Kubernetes quantity, the way the flag takes
// it: in the largest binary unit that divides it (64Mi, 1Gi). Messages that
// name a byte limit write it with this too, so the value they show can be
// given to the flag they name.
func (b ByteSize) String() string {
	return resource.NewQuantity(int64(b), resource.BinarySI).String()
}

// Set implements pflag.Value.
func (b *ByteSize) Set(s string) error {
	v, err := ParseByteSize(s)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// Type implements pflag.Value.
func (b *ByteSize) Type() string { return "bytes" }
