"""AWS Bedrock Runtime's vocabulary (Converse, ConverseStream, InvokeModel), shared by its adapter and fake."""
