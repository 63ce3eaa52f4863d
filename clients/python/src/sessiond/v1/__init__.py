# DO NOT EDIT: generated from proto/sessiond/v1/session.proto by clients/python/generate.sh.
"""Generated sessiond.v1 messages and gRPC stubs."""
