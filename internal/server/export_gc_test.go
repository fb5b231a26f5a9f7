package server

import "context"

// CollectOnce runs one garbage collection pass now.
func CollectOnce(ctx context.Context, s *Server) { s.collectOnce(ctx) }

// SetEventBatch sets how many events one garbage collection statement deletes.
func SetEventBatch(s *Server, n int) { s.opts.eventBatch = n }
