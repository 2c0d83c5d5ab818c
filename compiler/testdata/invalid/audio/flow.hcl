number "main" {
  e164 = "+14155550100"
  type = "local"
}

user "alice" {
}

flow "support" {
  numbers = [number.main]
  start   = announce.ok
  announce "ok" {
    play = "audio/ok.wav"
    next = announce.missing
  }
  announce "missing" {
    play = "audio/missing.wav" # ERROR: Audio file not found
    next = announce.text
  }
  announce "text" {
    play = "audio/notes.wav" # ERROR: Audio file is not a WAV file
    next = announce.adpcm
  }
  announce "adpcm" {
    play = "audio/adpcm.wav" # ERROR: Audio encoding not supported
    next = announce.damaged
  }
  announce "damaged" {
    play = "audio/damaged.wav" # ERROR: Audio file is damaged
    next = announce.http
  }
  announce "http" {
    play = "http://example.com/a.wav" # ERROR: Audio URL must use https
    next = announce.badurl
  }
  announce "badurl" {
    play = "https://" # ERROR: Invalid audio URL
    next = announce.outside
  }
  announce "outside" {
    play = "../../valid/ok.wav" # ERROR: Audio file outside the repository
    next = announce.absolute
  }
  announce "absolute" {
    play = "/usr/share/sounds/ok.wav" # ERROR: Audio file outside the repository
    next = transfer_user.t
  }
  transfer_user "t" {
    user = user.alice
    queue {
      max_waiting = 2
      play        = "https://example.com/busy.wav"
      music       = "audio/hold.mp3" # ERROR: Audio file is not a WAV file
    }
  }
}
