<?php

namespace App\Billing;

final class InvoiceFailed extends \RuntimeException
{
}
