"""WeCom (企业微信) protocol layer: callback crypto, inbound messages, the server API client.

- :mod:`bot.wecom.crypto`: WeCom's callback scheme (WXBizMsgCrypt): SHA-1 signatures over
  the sorted token/timestamp/nonce/ciphertext, AES-256-CBC with the EncodingAESKey,
  PKCS#7 padding to 32 bytes, the receive id (corp id) at the end of every plaintext.
- :mod:`bot.wecom.inbound`: one decrypted callback (message or event) parsed into an
  :class:`~bot.wecom.inbound.Inbound` value, with a de-duplication key for WeCom's retries.
- :mod:`bot.wecom.api`: an async client of the server API (gettoken, message/send,
  appchat, update_template_card, media, user/getuserid, menu) against a configurable
  base URL, so 政务微信 and other private deployments (and the tests' fake) work alike.

Nothing here knows about storage or services: the channel adapter builds on these.
"""
