"""The gRPC layer: servicers, conversion between protos and the domain, and the error mapping."""
