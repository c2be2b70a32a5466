"""The LLM client: any OpenAI-compatible chat endpoint asked for grades (prompts, streamed
requests, batches under a throttle, costs, replies cached), and the local llama.cpp server.
"""
