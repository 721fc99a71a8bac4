//! Sans-IO Gemini Live protocol.
