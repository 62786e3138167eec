package core

import "testing"

func TestDefaultCatalogLoads(t *testing.T) {
	c := DefaultCatalog()
	if len(c.Sections) != 10 || c.OperationCount() != 99 {
		t.Fatalf("default catalog has %d sections and %d operations, want 10 and 99", len(c.Sections), c.OperationCount())
	}
}
