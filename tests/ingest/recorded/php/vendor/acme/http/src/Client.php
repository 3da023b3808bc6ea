<?php

namespace Acme\Http;

final class Client
{
    public function send(string $url): string
    {
        throw new \RuntimeException("connection refused: {$url}", 111);
    }
}
