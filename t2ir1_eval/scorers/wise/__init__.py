"""WISE's VLM judge: protocols (exact texts), an OpenAI-compatible client, an in-process
transformers judge, a reply cache on disk, and the scorer that ties them together."""
