<?php

namespace App\Billing;

use Acme\Http\Client;

final class InvoiceService
{
    public function __construct(private Client $client)
    {
    }

    public function send(array $lines): array
    {
        try {
            return array_map(function (string $line) {
                return Gateway::post($this->client, $line);
            }, $lines);
        } catch (\RuntimeException $e) {
            throw new InvoiceFailed('invoice could not be sent', 0, $e);
        }
    }
}
