package store_test

import (
	"testing"

	"ai-platform/internal/store"
	"ai-platform/internal/store/storetest"
)

func TestMemoryContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		m, err := store.NewMemory(nil)
		if err != nil {
			t.Fatal(err)
		}
		return m
	})
}

func openPersisted(t *testing.T, dir string) *store.Memory {
	t.Helper()
	p, err := store.NewPersister(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := store.NewMemory(p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPersistedMemoryContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openPersisted(t, t.TempDir()) })
}

func TestPersistedMemoryReload(t *testing.T) {
	dir := t.TempDir()
	storetest.Durability(t, openPersisted(t, dir), func() store.Store { return openPersisted(t, dir) })
}
