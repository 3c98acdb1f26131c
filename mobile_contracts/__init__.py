"""Every wire type the apps and bank systems see, per API version, and the exported OpenAPI."""
