"""Resolvers: thin, arguments -> service -> type."""
