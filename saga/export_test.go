package saga

// DelayStore makes every Start of o call hook between writing its timer and
// writing its saga.
func DelayStore(o *Orchestrator, hook func(id string)) { o.stored = hook }
