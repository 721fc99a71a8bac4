//! The protocol's enumerations. Parsed case-insensitively; unknown values are kept.

use super::values::wire_enum;

wire_enum! {
    /// A response modality (`generationConfig.responseModalities`) or a token-count modality.
    Modality {
        Unspecified = "MODALITY_UNSPECIFIED",
        Text = "TEXT",
        Image = "IMAGE",
        Video = "VIDEO",
        Audio = "AUDIO",
        Document = "DOCUMENT",
    }
}

wire_enum! {
    /// Tokens per image frame.
    MediaResolution {
        Unspecified = "MEDIA_RESOLUTION_UNSPECIFIED",
        Low = "MEDIA_RESOLUTION_LOW",
        Medium = "MEDIA_RESOLUTION_MEDIUM",
        High = "MEDIA_RESOLUTION_HIGH",
    }
}

wire_enum! {
    /// `thinkingConfig.thinkingLevel` (3.1 models).
    ThinkingLevel {
        Unspecified = "THINKING_LEVEL_UNSPECIFIED",
        Minimal = "MINIMAL",
        Low = "LOW",
        Medium = "MEDIUM",
        High = "HIGH",
    }
}

wire_enum! {
    /// `automaticActivityDetection.startOfSpeechSensitivity`.
    StartSensitivity {
        /// The server's default (HIGH; the SDK says LOW on Vertex).
        Unspecified = "START_SENSITIVITY_UNSPECIFIED",
        /// Detects the start of speech more often.
        High = "START_SENSITIVITY_HIGH",
        /// Detects the start of speech less often.
        Low = "START_SENSITIVITY_LOW",
    }
}

wire_enum! {
    /// `automaticActivityDetection.endOfSpeechSensitivity`.
    EndSensitivity {
        /// The server's default (HIGH; the SDK says LOW on Vertex).
        Unspecified = "END_SENSITIVITY_UNSPECIFIED",
        /// Ends speech more often.
        High = "END_SENSITIVITY_HIGH",
        /// Ends speech less often.
        Low = "END_SENSITIVITY_LOW",
    }
}

wire_enum! {
    /// What user activity does to a generation in progress.
    ActivityHandling {
        /// The default: like `StartOfActivityInterrupts`.
        Unspecified = "ACTIVITY_HANDLING_UNSPECIFIED",
        /// Barge-in: user activity interrupts the model (the default).
        StartOfActivityInterrupts = "START_OF_ACTIVITY_INTERRUPTS",
        /// The model is never interrupted.
        NoInterruption = "NO_INTERRUPTION",
    }
}

wire_enum! {
    /// Which input a user turn includes.
    TurnCoverage {
        /// The model's default (2.5: only activity; 3.1 and 3.8: audio activity and all video).
        Unspecified = "TURN_COVERAGE_UNSPECIFIED",
        /// Only the input while the user is active.
        OnlyActivity = "TURN_INCLUDES_ONLY_ACTIVITY",
        /// All input, silence included.
        AllInput = "TURN_INCLUDES_ALL_INPUT",
        /// Audio while the user is active, and every video frame.
        AudioActivityAndAllVideo = "TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO",
    }
}

wire_enum! {
    /// `functionDeclarations[].behavior`.
    Behavior {
        /// The model's default (NON_BLOCKING on 3.8 Live, BLOCKING elsewhere).
        Unspecified = "UNSPECIFIED",
        /// The model waits for the result.
        Blocking = "BLOCKING",
        /// The model goes on while the function runs; its result is scheduled.
        NonBlocking = "NON_BLOCKING",
    }
}

wire_enum! {
    /// `functionResponses[].scheduling` (NON_BLOCKING calls only).
    Scheduling {
        Unspecified = "SCHEDULING_UNSPECIFIED",
        /// Add to the context without generating.
        Silent = "SILENT",
        /// Generate after the current output (the default).
        WhenIdle = "WHEN_IDLE",
        /// Interrupt and generate now.
        Interrupt = "INTERRUPT",
    }
}

wire_enum! {
    /// Transcription mode (SDK 3.6.1).
    TranscriptionMode {
        /// The server's default.
        Unspecified = "MODE_UNSPECIFIED",
        /// Every word as spoken.
        Verbatim = "VERBATIM",
        /// Disfluencies removed and formatted (not with timestamps or diarization).
        Smart = "SMART",
    }
}

wire_enum! {
    /// Why a turn completed.
    TurnCompleteReason {
        Unspecified = "TURN_COMPLETE_REASON_UNSPECIFIED",
        MalformedFunctionCall = "MALFORMED_FUNCTION_CALL",
        ResponseRejected = "RESPONSE_REJECTED",
        NeedMoreInput = "NEED_MORE_INPUT",
        ProhibitedInputContent = "PROHIBITED_INPUT_CONTENT",
        ImageProhibitedInputContent = "IMAGE_PROHIBITED_INPUT_CONTENT",
        InputTextContainProminentPersonProhibited = "INPUT_TEXT_CONTAIN_PROMINENT_PERSON_PROHIBITED",
        InputImageCelebrity = "INPUT_IMAGE_CELEBRITY",
        InputImagePhotoRealisticChildProhibited = "INPUT_IMAGE_PHOTO_REALISTIC_CHILD_PROHIBITED",
        InputTextNciiProhibited = "INPUT_TEXT_NCII_PROHIBITED",
        InputOther = "INPUT_OTHER",
        InputIpProhibited = "INPUT_IP_PROHIBITED",
        Blocklist = "BLOCKLIST",
        UnsafePromptForImageGeneration = "UNSAFE_PROMPT_FOR_IMAGE_GENERATION",
        GeneratedImageSafety = "GENERATED_IMAGE_SAFETY",
        GeneratedContentSafety = "GENERATED_CONTENT_SAFETY",
        GeneratedAudioSafety = "GENERATED_AUDIO_SAFETY",
        GeneratedVideoSafety = "GENERATED_VIDEO_SAFETY",
        GeneratedContentProhibited = "GENERATED_CONTENT_PROHIBITED",
        GeneratedContentBlocklist = "GENERATED_CONTENT_BLOCKLIST",
        GeneratedImageProhibited = "GENERATED_IMAGE_PROHIBITED",
        GeneratedImageCelebrity = "GENERATED_IMAGE_CELEBRITY",
        GeneratedImageProminentPeopleDetectedByRewriter = "GENERATED_IMAGE_PROMINENT_PEOPLE_DETECTED_BY_REWRITER",
        GeneratedImageIdentifiablePeople = "GENERATED_IMAGE_IDENTIFIABLE_PEOPLE",
        GeneratedImageMinors = "GENERATED_IMAGE_MINORS",
        OutputImageIpProhibited = "OUTPUT_IMAGE_IP_PROHIBITED",
        GeneratedOther = "GENERATED_OTHER",
        MaxRegenerationReached = "MAX_REGENERATION_REACHED",
    }
}

wire_enum! {
    /// Whether work continues after `turnComplete` (2026-08+).
    InteractionStatus {
        Unspecified = "INTERACTION_STATUS_UNSPECIFIED",
        /// Background work goes on: more output may follow the `turnComplete`.
        InProgress = "IN_PROGRESS",
        /// Everything is done.
        Idle = "IDLE",
        /// Deprecated.
        RequiresAction = "REQUIRES_ACTION",
    }
}

wire_enum! {
    /// `voiceActivity.type`.
    VoiceActivityType {
        Unspecified = "TYPE_UNSPECIFIED",
        /// The user started speaking.
        ActivityStart = "ACTIVITY_START",
        /// The user stopped speaking.
        ActivityEnd = "ACTIVITY_END",
    }
}

wire_enum! {
    /// `voiceActivityDetectionSignal.vadSignalType` (Vertex, `explicitVadSignal`).
    VadSignalType {
        Unspecified = "VAD_SIGNAL_TYPE_UNSPECIFIED",
        /// Start of speech.
        StartOfSpeech = "VAD_SIGNAL_TYPE_SOS",
        /// End of speech.
        EndOfSpeech = "VAD_SIGNAL_TYPE_EOS",
    }
}

wire_enum! {
    /// Language of `executableCode`.
    Language {
        Unspecified = "LANGUAGE_UNSPECIFIED",
        Python = "PYTHON",
    }
}

wire_enum! {
    /// Outcome of `codeExecutionResult`.
    Outcome {
        Unspecified = "OUTCOME_UNSPECIFIED",
        Ok = "OUTCOME_OK",
        Failed = "OUTCOME_FAILED",
        DeadlineExceeded = "OUTCOME_DEADLINE_EXCEEDED",
    }
}

wire_enum! {
    /// OpenAPI-subset schema types for function parameters.
    SchemaType {
        Unspecified = "TYPE_UNSPECIFIED",
        String = "STRING",
        Number = "NUMBER",
        Integer = "INTEGER",
        Boolean = "BOOLEAN",
        Array = "ARRAY",
        Object = "OBJECT",
        Null = "NULL",
    }
}
