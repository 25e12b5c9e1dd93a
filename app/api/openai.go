package api

// routesOpenAI registers the OpenAI-compatible routes under /v1.
func (s *Server) routesOpenAI() {}
