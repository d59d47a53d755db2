package params

// Params represents the params accepted by this template.
type Params struct {

	// The minimum number of replicas a deployment should have
	MinReplicas int
}
