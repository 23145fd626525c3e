"""The GraphQL vocabulary: types, inputs and enums, the mapping from rows to types, and the error
codes extension. It imports no resolver: app.graphql assembles the schema from app.resolvers."""
