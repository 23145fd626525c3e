"""Resolvers: arguments -> a service -> GraphQL types (through app.schema.mapping).

The mutations also read the uploaded images (base64 or multipart) and hand the submit service
the settings it applies (quotas, hint topics); the subscription iterates app.services.watch.
"""
