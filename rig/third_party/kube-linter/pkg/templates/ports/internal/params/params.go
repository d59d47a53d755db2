package params

// Params represents the params accepted by this template.
type Params struct {

	// The port
	Port int

	// The protocol
	Protocol string
}
