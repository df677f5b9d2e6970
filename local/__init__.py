"""The Docker-free local run: moto server as the AWS, resources and routes read from template.yaml,
each function in its own worker process with the layer on its path, as in Lambda."""
