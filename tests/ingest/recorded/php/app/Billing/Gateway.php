<?php

namespace App\Billing;

use Acme\Http\Client;

final class Gateway
{
    public static function post(Client $client, string $line): string
    {
        return $client->send("https://billing.example/lines/{$line}");
    }
}
