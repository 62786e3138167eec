package seal

// RaiseGeneration records gen as the highest generation of a store's signed
// state seen here, through write, unless read already reports gen or a
// higher one: a recorded generation only rises, so that an older copy of
// the store stays refused. A read that fails (a damaged record) is
// written over. Callers serialise calls for the same record.
func RaiseGeneration(gen uint64, read func() (uint64, error), write func(gen uint64) error) error {
	if seen, err := read(); err == nil && seen >= gen {
		return nil
	}
	return write(gen)
}
