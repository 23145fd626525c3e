"""Resolvers: arguments -> a service -> GraphQL types (through app.schema.mapping).

They decide nothing: the submit mutations hand the request's photos to app.services.submit
(reading, checks, quotas, hints), the subscription iterates app.services.watch. app.graphql
assembles the schema from them.
"""
